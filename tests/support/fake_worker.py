"""A stand-in worker for the server's hardening tests: answers at once (or when released), with a sized output."""
from __future__ import annotations

import threading

from common.errors import InvalidInput
from jobcore.synthesis import Speech


class FakeWorker:
    """Implements jobcore.interface.JobWorker."""

    backend_name = "fake"
    streaming = True

    def __init__(self, output_bytes: int = 10):
        self.output_bytes, self.calls = output_bytes, []
        self.gate = threading.Event()
        self.gate.set()

    def handle(self, job_input, job_id=None, progress=None, s3_config=None, cancellation=None):
        self.calls.append(job_input)
        self.gate.wait(30)
        return {"audio_base64": "A" * self.output_bytes}

    def stream(self, job_input, job_id=None, progress=None, s3_config=None, cancellation=None):
        yield self.handle(job_input, job_id, progress)

    def speech(self, job_input, cancellation=None) -> Speech:
        raise InvalidInput("the fake worker makes no speech")

    def metrics_snapshot(self) -> dict:
        return {"counters": [], "histograms": [], "caches": {}}

    def close(self) -> None:
        pass
