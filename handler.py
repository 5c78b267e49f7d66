"""RunPod entry point: build the worker once from the environment, then hand jobs to it."""
from __future__ import annotations

import logging
import os

from jobcore.errors import BackendUnavailable, JobError
from jobcore.settings import load_settings
from jobcore.worker import Worker

log = logging.getLogger("handler")
_worker = None


class BrokenWorker:
    """Stands in when start-up failed: every job gets the start-up error instead of a crash loop."""

    def __init__(self, error: JobError):
        self.error = error

    def handle(self, job_input, job_id=None) -> dict:
        return {"error": self.error.to_job_error()}


def get_worker():
    global _worker
    if _worker is None:
        try:
            _worker = Worker.from_settings(load_settings())
        except JobError as exc:
            log.error("worker start-up failed: %s", exc.message)
            _worker = BrokenWorker(exc)
        except Exception as exc:  # a model that cannot load must not crash-loop the container
            log.exception("worker start-up failed")
            _worker = BrokenWorker(BackendUnavailable(f"the worker could not start: {type(exc).__name__}",
                                                      hint="see the worker log"))
    return _worker


def handler(job: dict) -> dict:
    """What RunPod calls for each job."""
    return get_worker().handle(job.get("input"), job.get("id"))


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    get_worker()   # load and warm the model before the first job arrives
    import runpod

    runpod.serverless.start({"handler": handler})
