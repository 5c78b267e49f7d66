"""Cold start: process start to the first finished job in a fresh `python -c` (CPU default): as handler.py starts
(the worker loading beside the SDK import) and in the order before (the worker, then a plain SDK import); versus a
warm job."""
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
from common.logs import setup_logging
from jobcore.settings import Settings
from jobcore.worker import Worker

log = logging.getLogger(__name__)
ROUNDS = 5
ROOT = Path(__file__).resolve().parent.parent
JOB = {"text": "Hello! This is the first job of a fresh worker.", "voice": "jm_kumo"}   # default format (mp3)

# Runs in the fresh process: handler.py's own start-up (handler.start(): the worker loads on a thread while the
# main thread imports runpod). The wrappers only time the steps of KokoroBackend.load() and Worker.from_settings.
CHILD = r"""
import json, sys, time
t = {"start": time.time()}
import handler
t["import_project"] = time.time()
import builtins, hashlib, onnxruntime, hibari.g2p, backends.kokoro as kokoro, backends.base as base
import jobcore.worker as worker
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
real_import = builtins.__import__
def import_timed(name, *args, **kwargs):   # the main thread's `import runpod` inside handler.start()
    if name != "runpod" or "runpod" in sys.modules:
        return real_import(name, *args, **kwargs)
    started = time.time()
    try:
        return real_import(name, *args, **kwargs)
    finally:
        t["import_runpod"] = time.time() - started
builtins.__import__ = import_timed
kokoro.read_bundled_model = timed("model_read", kokoro.read_bundled_model)
kokoro.hashlib = type("H", (), {"sha256": staticmethod(timed("model_sha256", hashlib.sha256))})
onnxruntime.InferenceSession = timed("onnx_session", onnxruntime.InferenceSession)
hibari.g2p.G2P = timed("g2p_load", hibari.g2p.G2P)
worker.Worker.seed_stock_voices = timed("seed_stock_voices", worker.Worker.seed_stock_voices)
base.Backend.warmup = timed("warmup_synthesis", base.Backend.warmup)
worker.Worker.from_settings = timed("worker_load", worker.Worker.from_settings)
if sys.argv[2] == "overlapped":
    handler.start()
else:                    # the order before: load the worker, then import the SDK
    handler.get_worker()
    import runpod
t["worker_ready"] = time.time()
builtins.__import__ = real_import
result = handler.handler({"id": "cold", "input": json.loads(sys.argv[1])})
t["first_job"] = time.time()
assert "audio_base64" in result, result
print(json.dumps({"stamps": t, "spent": spent, "job_timings_ms": result["timings_ms"]}))
"""


def _cold(library: str, order: str = "overlapped") -> dict:
    env = {**os.environ, "VOICE_LIBRARY_URI": library, "PYTHONDONTWRITEBYTECODE": "1"}
    spawned = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(JOB), order], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    s, spent = data["stamps"], data["spent"]
    load = s["worker_ready"] - s["import_backend_libs"]
    steps = {"interpreter_start": s["start"] - spawned,
             "import_project": s["import_project"] - s["start"],
             "import_onnxruntime_hibari": s["import_backend_libs"] - s["import_project"],
             "start_both": load,
             "import_runpod_beside": s["import_runpod"],
             "worker_load_beside": spent.get("worker_load", 0.0),
             **{k: spent.get(k, 0.0) for k in ("model_read", "model_sha256", "onnx_session", "g2p_load",
                                                 "seed_stock_voices", "warmup_synthesis")},
             "first_job": s["first_job"] - s["worker_ready"]}
    steps["total"] = s["first_job"] - spawned
    return steps


def run() -> dict:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        warm_worker = Worker.from_settings(Settings(voice_library_uri=str(Path(tmp) / "warm")))
        warm_worker.handle(JOB)
        cold: list[dict] = []
        sequential: list[float] = []
        warm: list[float] = []
        for i in range(ROUNDS):   # interleaved: fresh processes in each way, then the same job in this warm one
            cold.append(_cold(str(Path(tmp) / f"cold{i}")))   # a fresh voice library, as in a new container
            sequential.append(_cold(str(Path(tmp) / f"seq{i}"), "sequential")["total"])
            started = time.perf_counter()
            assert "audio_base64" in warm_worker.handle(JOB)
            warm.append(time.perf_counter() - started)
    breakdown = {k: round(statistics.median(c[k] for c in cold) * 1e3, 1) for k in cold[0]}
    medians = {"cold_process_to_first_job": breakdown["total"],
               "cold_sequential_start": round(statistics.median(sequential) * 1e3, 1),
               "warm_job": round(statistics.median(warm) * 1e3, 1)}
    result = {"benchmark": "cold_start", "median_ms": medians,
              "ratio_to_warm_job": {k: round(v / medians["warm_job"], 2) for k, v in medians.items()},
              "rounds": ROUNDS, "target_cold_ms": 2000,
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],   # 1-min, before and after
              "breakdown_median_ms": breakdown,
              "notes": "A fresh `python -c`: import handler (project modules), import onnxruntime and hibari, "
                       "handler.start() = start_both: the worker loads on a thread (worker_load_beside: model "
                       "parts read, sha256 checked, the onnxruntime session built while the G2P lexicon loads on "
                       "a thread of its own, stock voices seeded into an empty library; "
                       "no warm-up synthesis on the CPU) while the main thread imports runpod without py-cpuinfo's "
                       "subprocess (import_runpod_beside); then one short job through handler.handler. "
                       "cold_sequential_start = the worker loaded, then a plain `import runpod` with its "
                       "CPU-info subprocess: the order before (its G2P overlap and no warm-up are kept). "
                       "Interleaved. Model files are in the page cache after the first round (a new "
                       "container reads them from disk). warm_job = the same job in this already warm process. "
                       "Breakdown = median per step; threaded steps overlap, so steps do not sum to the total."}
    save("cold_start", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
