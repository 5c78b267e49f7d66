"""Cold start: process start to the first finished job in a fresh `python -c` (CPU default) versus a warm job."""
from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import save
from jobcore.settings import Settings
from jobcore.worker import Worker

log = logging.getLogger(__name__)
ROUNDS = 5
ROOT = Path(__file__).resolve().parent.parent
JOB = {"text": "Hello! This is the first job of a fresh worker.", "voice": "jm_kumo"}   # default format (mp3)

# Runs in the fresh process. The wrappers only time the steps of KokoroBackend.load() and Worker.from_settings.
CHILD = r"""
import json, sys, time
t = {"start": time.time()}
import runpod
t["import_runpod"] = time.time()
import handler
t["import_project"] = time.time()
import hashlib, onnxruntime, hibari.g2p, backends.kokoro as kokoro, backends.base as base, jobcore.worker as worker
t["import_backend_libs"] = time.time()
spent = {}
def timed(name, fn):
    def wrapper(*args, **kwargs):
        started = time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.time() - started
    return wrapper
kokoro.read_bundled_model = timed("model_read", kokoro.read_bundled_model)
kokoro.hashlib = type("H", (), {"sha256": staticmethod(timed("model_sha256", hashlib.sha256))})
onnxruntime.InferenceSession = timed("onnx_session", onnxruntime.InferenceSession)
hibari.g2p.G2P = timed("g2p_load", hibari.g2p.G2P)
worker.Worker.seed_stock_voices = timed("seed_stock_voices", worker.Worker.seed_stock_voices)
base.Backend.warmup = timed("warmup_synthesis", base.Backend.warmup)
handler.get_worker()
t["worker_ready"] = time.time()
result = handler.handler({"id": "cold", "input": json.loads(sys.argv[1])})
t["first_job"] = time.time()
assert "audio_base64" in result, result
print(json.dumps({"stamps": t, "spent": spent, "job_timings_ms": result["timings_ms"]}))
"""


def _cold(library: str) -> dict:
    env = {**os.environ, "VOICE_LIBRARY_URI": library, "PYTHONDONTWRITEBYTECODE": "1"}
    spawned = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(JOB)], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    s, spent = data["stamps"], data["spent"]
    load = s["worker_ready"] - s["import_backend_libs"]
    steps = {"interpreter_start": s["start"] - spawned,
             "import_runpod": s["import_runpod"] - s["start"],
             "import_project": s["import_project"] - s["import_runpod"],
             "import_onnxruntime_hibari": s["import_backend_libs"] - s["import_project"],
             **{k: spent.get(k, 0.0) for k in ("model_read", "model_sha256", "onnx_session", "g2p_load",
                                                 "seed_stock_voices", "warmup_synthesis")},
             "first_job": s["first_job"] - s["worker_ready"]}
    steps["worker_other"] = load - sum(spent.values())
    steps["total"] = s["first_job"] - spawned
    return steps


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        warm_worker = Worker.from_settings(Settings(voice_library_uri=str(Path(tmp) / "warm")))
        warm_worker.handle(JOB)
        cold: list[dict] = []
        warm: list[float] = []
        for i in range(ROUNDS):   # interleaved: one fresh process, then the same job in this warm one
            cold.append(_cold(str(Path(tmp) / f"cold{i}")))   # a fresh voice library, as in a new container
            started = time.perf_counter()
            assert "audio_base64" in warm_worker.handle(JOB)
            warm.append(time.perf_counter() - started)
    breakdown = {k: round(statistics.median(c[k] for c in cold) * 1e3, 1) for k in cold[0]}
    warm_ms = round(statistics.median(warm) * 1e3, 1)
    result = {"benchmark": "cold_start", "median_ms": {"cold_process_to_first_job": breakdown["total"],
                                                       "warm_job": warm_ms},
              "ratio_to_warm_job": {"cold_process_to_first_job": round(breakdown["total"] / warm_ms, 2),
                                    "warm_job": 1.0},
              "rounds": ROUNDS, "target_cold_ms": 3000, "breakdown_median_ms": breakdown,
              "notes": "A fresh `python -c`: import runpod, import handler (project modules), import onnxruntime "
                       "and hibari, handler.get_worker() (model parts read, sha256 checked, onnxruntime session "
                       "built, G2P lexicon loaded, stock voices seeded into an empty library, a warm-up "
                       "synthesis), then one short job through handler.handler. Model files are in the page "
                       "cache after the first round (a new container reads them from disk). warm_job = the same "
                       "job in this already warm process. Breakdown = median per step; steps do not sum "
                       "exactly to the median total."}
    save("cold_start", result)
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(run())
