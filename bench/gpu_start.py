"""GPU backend start-up (Chatterbox on the real chatterbox-tts library, full-size random weights, CPU torch):
process start to a loaded worker in a fresh `python -c`, with the weights hashed beside the torch and engine
imports (handler.py's start-up) versus one after the other (check, then import, then load)."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import save
from common.logs import setup_logging

ROUNDS = 3
ROOT = Path(__file__).resolve().parent.parent
NEEDS = "chatterbox.tts"      # run in .venv-chatterbox: `.venv-chatterbox/bin/python -m bench gpu_start`

CHILD = r"""
import json, sys, time
started = time.time()
from jobcore.settings import load_settings
from jobcore.startup import load_in_background
from jobcore.worker import start_worker
settings = load_settings()
worker = load_in_background(settings).result() if sys.argv[1] == "overlapped" else start_worker(settings)
assert type(worker).__name__ == "Worker", worker.error
print(json.dumps({"ready_s": time.time() - started}))
"""


def _start(order: str, model_dir: Path, library: Path) -> float:
    env = {**os.environ, "TTS_BACKEND": "chatterbox", "MODEL_DIR": str(model_dir), "DEVICE": "cpu", "WARMUP": "0",
           "VOICE_LIBRARY_URI": str(library), "PYTHONDONTWRITEBYTECODE": "1"}
    spawned = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, order], cwd=ROOT, env=env, check=True, capture_output=True,
                         text=True).stdout
    json.loads(out.strip().splitlines()[-1])
    return time.time() - spawned


def run() -> dict:
    import torch

    from common.manifest import write_manifest
    from tests.support.torch_models import write_random_chatterbox

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        model_dir.mkdir()
        torch.manual_seed(0)
        write_random_chatterbox(model_dir)
        write_manifest(model_dir, "chatterbox", source="random weights (bench)")
        weights_gb = sum(p.stat().st_size for p in model_dir.iterdir()) / 1e9
        times: dict[str, list[float]] = {"hashed_beside_imports": [], "check_then_import": []}
        for i in range(ROUNDS):     # interleaved fresh processes; weights in the page cache after the first read
            times["hashed_beside_imports"].append(_start("overlapped", model_dir, Path(tmp) / f"a{i}"))
            times["check_then_import"].append(_start("sequential", model_dir, Path(tmp) / f"b{i}"))
    medians = {k: round(statistics.median(v) * 1e3, 1) for k, v in times.items()}
    result = {"benchmark": "gpu_start", "median_ms": medians,
              "ratio_to_check_then_import": {k: round(v / medians["check_then_import"], 3) for k, v in medians.items()},
              "rounds": ROUNDS, "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
              "weights_gb": round(weights_gb, 2), "torch": torch.__version__,
              "notes": "Fresh process to a loaded Chatterbox worker on CPU torch (no GPU here), WARMUP=0, a fresh "
                       "local voice library. hashed_beside_imports = jobcore.startup.load_in_background: the "
                       "manifest's sha256 checks run on a thread (Backend.check_ahead) while the caller imports "
                       "torch and chatterbox.tts (files read in 16 MB chunks: with hashlib.file_digest's 256 KB chunks "
                       "the hashing thread waited for the GIL at every chunk and the overlap gained nothing, 1.011 in "
                       "a run before that change), then the model loads. check_then_import = start_worker alone: "
                       "hash, then import, then load. The weights are in the page cache (a new container reads "
                       "them from disk, where hashing beside the imports gains more)."}
    save("gpu_start", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
