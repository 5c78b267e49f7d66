"""A 20,000-character document (`python -m client document`'s engine) through the local server: one worker vs
two worker processes (WORKERS=2), and the client's own overhead versus the sum of the parts' synthesis."""
from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import save
from client import TTSClient, render_document
from common.logs import setup_logging
from jobcore.settings import Settings
from jobcore.worker import Worker
from server import ServerSettings, create_app
from server.processes import WorkerProcesses
from tests.support.documents import document
from tests.support.servers import serve

log = logging.getLogger(__name__)
ROUNDS = 2
PARALLEL = 2


def run() -> dict:
    text = document()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(backend="hibari", voice_library_uri=str(Path(tmp) / "lib"))
        one = Worker.from_settings(settings)              # one model, all cores (TTS_THREADS=0)
        two = WorkerProcesses(settings, 2)                # two models, one core each
        try:
            with serve(create_app(one, ServerSettings(concurrency=1))) as url1, \
                 serve(create_app(two, ServerSettings(concurrency=2))) as url2:
                variants = {"one_worker": url1, "two_worker_processes": url2}
                runs: dict[str, list[dict]] = {name: [] for name in variants}
                for _ in range(ROUNDS):                   # interleaved, so machine noise hits both alike
                    for name, url in variants.items():
                        with TTSClient(url, timeout=300) as client:
                            started = time.perf_counter()
                            result = render_document(client, text, Path(tmp) / f"{name}.mp3", parallel=PARALLEL)
                            wall = time.perf_counter() - started
                        runs[name].append({"wall_s": wall, "execution_s": result.execution_s,
                                           "stitch_s": result.stitch_s, "audio_s": result.duration_s,
                                           "parts": result.parts})
        finally:
            two.close()
    load = round((load_before + os.getloadavg()[0]) / 2, 1)
    rows = {}
    for name, results in runs.items():
        wall = statistics.median(r["wall_s"] for r in results)
        execution = statistics.median(r["execution_s"] for r in results)
        workers = 2 if name.startswith("two") else 1
        overhead = wall - execution / workers            # wall time not covered by synthesis at the workers
        rows[name] = {"wall_s": round(wall, 2), "sum_of_parts_synthesis_s": round(execution, 2),
                      "client_overhead_s": round(overhead, 2),
                      "overhead_over_synthesis": round(overhead / execution, 3),
                      "encode_tail_s": round(statistics.median(r["stitch_s"] for r in results), 2),
                      "parts": results[0]["parts"]}
    base = rows["one_worker"]["wall_s"]
    result = {"benchmark": "document_fanout", "rounds": ROUNDS,
              "median_ms": {k: round(v["wall_s"] * 1e3) for k, v in rows.items()},
              "ratio_to_one_worker": {k: round(v["wall_s"] / base, 3) for k, v in rows.items()},
              "levels": rows, "chars": len(text), "audio_s": runs["one_worker"][0]["audio_s"],
              "notes": f"hibari backend (fast and deterministic), mp3 output, {PARALLEL} parts in flight, 1,000-"
                       "character parts; one worker = the server's own process with all cores, two worker processes "
                       "= WORKERS=2 (one core each). sum_of_parts_synthesis_s adds the parts' executionTime; "
                       "client_overhead_s = wall - that sum / workers (polling, transfer, and the part of the mp3 "
                       "encode that does not overlap synthesis: encode_tail_s, from the last part's arrival to the "
                       "end; the client encodes each part as soon as it and all before it are in). The client, the "
                       "server and its workers share the 2 cores here, so the encode competes with synthesis; "
                       "against RunPod it runs on otherwise idle client cores. One process with all cores vs two "
                       "with one core each: on 2 cores the processes mostly add parallelism ONNX threads already had. "
                       f"1-minute load average around the run: {load} (other work shared the machine)."}
    save("document_fanout", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
