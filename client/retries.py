"""Bounded retries for the client: what is worth another try, how many tries, and a deadline for them all."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from .api import TTSError, TTSHTTPError, TTSJobError, TTSTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")
#: job error codes worth another try (the rest, e.g. invalid_input or voice_not_found, fail the same way again)
RETRYABLE_CODES = frozenset({None, "internal_error", "storage_unavailable", "backend_unavailable"})
FIRST_DELAY_S, MAX_DELAY_S = 1.0, 10.0


def retryable(exc: TTSError) -> bool:
    """Network trouble, timeouts, HTTP 404 (an expired job), 408, 429 and 5xx, and worker faults may pass."""
    if isinstance(exc, TTSHTTPError):
        return exc.status_code in (404, 408, 429) or exc.status_code >= 500
    if isinstance(exc, TTSJobError):
        return exc.code in RETRYABLE_CODES and exc.status != "CANCELLED"
    return True       # TTSTimeout and network errors


class DeadlinePassed(TTSTimeout):
    """The whole command ran past --deadline."""


class Retries:
    """`retries` more tries after the first, all within `deadline` seconds from now (None: no deadline)."""

    def __init__(self, retries: int = 2, deadline: float | None = None):
        self.retries = max(0, retries)
        self.deadline_s = deadline
        self.ends = None if deadline is None else time.monotonic() + deadline

    def left(self) -> float | None:
        return None if self.ends is None else self.ends - time.monotonic()

    def timeout(self, default: float) -> float:
        """`default`, cut to what is left of the deadline."""
        left = self.left()
        return default if left is None else max(0.1, min(default, left))

    def check(self) -> None:
        left = self.left()
        if left is not None and left <= 0:
            raise DeadlinePassed(f"gave up: the {self.deadline_s:g} s deadline passed")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try number `attempt + 1`: 1 s, doubling, at most 10 s; DeadlinePassed when
        the deadline comes first."""
        delay = min(FIRST_DELAY_S * 2 ** max(0, attempt - 1), MAX_DELAY_S)
        left = self.left()
        if left is not None and left <= delay:
            raise DeadlinePassed(f"gave up: the {self.deadline_s:g} s deadline passed")
        return delay

    def call(self, fn: Callable[[], T], what: str = "the request") -> T:
        """`fn()`, tried again on failures that may pass; the last error (or DeadlinePassed) when spent."""
        attempt = 0
        while True:
            self.check()
            attempt += 1
            try:
                return fn()
            except TTSError as exc:
                if not retryable(exc) or attempt > self.retries:
                    raise
                log.warning("%s failed (%s); trying again (%d of %d)", what, exc, attempt, self.retries)
                time.sleep(self.delay(attempt))
