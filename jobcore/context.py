"""One job's context, built once by the worker and passed wherever the job goes: id, progress, delivery, cancel."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from common.errors import JobCancelled

from .delivery import Delivery

Progress = Callable[[dict], None]


class Cancellation:
    """A job's cancel signal: set once (by a cancel, a timeout, a client that left), checked by the running job."""

    def __init__(self) -> None:
        self._reason: str | None = None
        self._lock = threading.Lock()

    def cancel(self, reason: str) -> None:
        """Ask the job to stop; the first reason given is the one reported."""
        with self._lock:
            if self._reason is None:
                self._reason = reason or "cancelled"

    @property
    def cancelled(self) -> bool:
        return self._reason is not None

    @property
    def reason(self) -> str | None:
        return self._reason

    def check(self) -> None:
        """Raise JobCancelled once the job was asked to stop; a no-op until then."""
        if self._reason is not None:
            raise JobCancelled(f"the job was cancelled: {self._reason}")


@dataclass(frozen=True)
class JobContext:
    """What a job carries besides its request. `delivery` sends URL outputs to the job's own bucket when it
    came with an `s3Config` (resolved once, when the context is built), else where the worker sends them."""

    id: str
    delivery: Delivery
    progress: Progress | None = None
    stream: bool = False                 # the caller can take several items (RunPod's generator handler)
    cancellation: Cancellation = field(default_factory=Cancellation)

    def report(self, update: dict) -> None:
        """A progress update, where someone listens."""
        if self.progress is not None:
            self.progress(update)
