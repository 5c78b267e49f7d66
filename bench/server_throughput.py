"""Throughput through the local server at concurrency 1, 2 and 4: jobs per minute, p50/p95 latency, peak RSS."""
from __future__ import annotations

import logging
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil

from bench.common import save
from client import TTSClient
from common.logs import setup_logging
from jobcore.settings import Settings
from jobcore.worker import Worker
from server import ServerSettings, create_app
from tests.support.servers import serve

log = logging.getLogger(__name__)
COLUMNS = ("concurrency", "p50 latency ms", "throughput / concurrency 1's")   # headers in BENCHMARKS.md
JOBS = 16
TEXT = "A short reply of about two seconds, like a voice assistant's."
LEVELS = (1, 2, 4)


def _peak_rss(stop: threading.Event, peak: list[float]) -> None:
    process = psutil.Process(os.getpid())
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss / 2**20)
        stop.wait(0.05)


def run() -> dict:
    with tempfile.TemporaryDirectory() as lib:
        backend_worker = Worker.from_settings(Settings(voice_library_uri=lib))
        rows = {}
        for level in LEVELS:
            app = create_app(backend_worker, ServerSettings(concurrency=level))
            stop, peak = threading.Event(), [0.0]
            sampler = threading.Thread(target=_peak_rss, args=(stop, peak), daemon=True)
            sampler.start()
            with serve(app) as url, TTSClient(url, timeout=300) as client:
                client.runsync({"text": "Warm up.", "format": "mp3"})

                def one(_):
                    started = time.perf_counter()
                    assert client.runsync({"text": TEXT, "format": "mp3"})["status"] == "COMPLETED"
                    return time.perf_counter() - started

                started = time.perf_counter()
                with ThreadPoolExecutor(level) as pool:
                    latencies = sorted(pool.map(one, range(JOBS)))
                wall = time.perf_counter() - started
            stop.set()
            sampler.join()
            rows[f"concurrency_{level}"] = {
                "jobs_per_min": round(JOBS / wall * 60, 1),
                "p50_ms": round(statistics.median(latencies) * 1e3),
                "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1e3),
                "peak_rss_mb": round(peak[0]),
            }
    base = rows["concurrency_1"]["jobs_per_min"]
    result = {"benchmark": "server_throughput", "rounds": JOBS,
              "median_ms": {k: v["p50_ms"] for k, v in rows.items()},
              "ratio_to_concurrency_1_throughput": {k: round(v["jobs_per_min"] / base, 3) for k, v in rows.items()},
              "levels": rows,
              "notes": f"{JOBS} jobs per level, each a {len(TEXT)}-character mp3 job through /runsync on the local "
                       "server (server concurrency = client concurrency), Kokoro on one shared ONNX session. "
                       "The ratio column here is throughput relative to concurrency 1; median ms is the p50 latency."}
    save("server_throughput", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
