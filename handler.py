"""RunPod entry point: build the worker once from the environment, then hand jobs to it."""
from __future__ import annotations

import logging
import os
import sys

from common.logs import quiet_url_loggers
from jobcore.startup import load_in_background
from jobcore.worker import start_worker

_worker = None


def get_worker():
    global _worker
    if _worker is None:
        _worker = start_worker()
    return _worker


def start():
    """Load the worker on a thread while this one imports the RunPod SDK (1.4 s, most of it a CPU-info
    subprocess), then wait for both; returns the SDK module."""
    global _worker
    loading = load_in_background()
    import runpod

    _worker = loading.result()
    return runpod


def _progress(job: dict):
    """RunPod progress updates, only where RunPod's queue is there to receive them."""
    if not os.environ.get("RUNPOD_WEBHOOK_GET_JOB"):
        return None
    from runpod.serverless import progress_update

    return lambda update: progress_update(job, update)


def handler(job: dict) -> dict:
    """One result per job: what `python handler.py` (test_input.json) runs."""
    return get_worker().handle(job.get("input"), job.get("id"), _progress(job))


def stream_handler(job: dict):
    """A generator: `stream: true` jobs yield a chunk per sentence; other jobs yield their one result."""
    yield from get_worker().stream(job.get("input"), job.get("id"), _progress(job))


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_url_loggers()
    runpod = start()   # load and warm the model before the first job arrives

    # The SDK's local test run (test_input.json / --test_input) cannot run a generator; serving can.
    serving = "--rp_serve_api" in sys.argv or bool(os.environ.get("RUNPOD_WEBHOOK_GET_JOB"))
    runpod.serverless.start({"handler": stream_handler if serving else handler, "return_aggregate_stream": True})
