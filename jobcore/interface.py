"""The one worker interface every entry point serves: the in-process Worker, the start-up stand-in, the
server's worker processes and the tests' fakes all implement it."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from .context import Cancellation, Progress
from .synthesis import Speech


class JobWorker(Protocol):
    """Jobs in, results out. `handle` and `stream` never raise: a failure is an item {"error": JobError}, which
    the entry point serializes (common.errors.job_output). `speech` raises JobError before any audio."""

    @property
    def backend_name(self) -> str:
        """The backend's name (what /v1/models lists)."""
        ...

    @property
    def streaming(self) -> bool:
        """The STREAMING setting: serve RunPod's generator handler (streamed jobs allowed)."""
        ...

    def handle(self, job_input: Any, job_id: str | None = None, progress: Progress | None = None,
               s3_config: dict | None = None, cancellation: Cancellation | None = None) -> dict:
        """One job input to its one result."""
        ...

    def stream(self, job_input: Any, job_id: str | None = None, progress: Progress | None = None,
               s3_config: dict | None = None, cancellation: Cancellation | None = None) -> Iterator[dict]:
        """Like handle(), but a `stream: true` synthesis yields one item per sentence, then a summary."""
        ...

    def speech(self, job_input: Any, cancellation: Cancellation | None = None) -> Speech:
        """A synthesize job as raw output bytes, made as its chunks are read (the OpenAI speech route)."""
        ...

    def metrics_snapshot(self) -> dict:
        """The job counters and histograms, and the caches' counts, for /metrics (jobcore.metrics)."""
        ...

    def close(self) -> None:
        """Let go of what the worker holds (processes, threads); jobs after this are not served."""
        ...
