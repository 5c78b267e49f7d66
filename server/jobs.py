"""The job queue: RunPod job states, worker threads over the synchronous job core, stream buffers, retention."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from common.errors import InternalError, JobError
from jobcore.context import Cancellation
from jobcore.interface import JobWorker
from jobcore.metrics import Metrics

log = logging.getLogger(__name__)

IN_QUEUE, IN_PROGRESS = "IN_QUEUE", "IN_PROGRESS"
COMPLETED, FAILED, CANCELLED, TIMED_OUT = "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, TIMED_OUT})


class QueueFull(Exception):
    """More jobs waiting than the queue takes; the caller answers 429."""


def approx_bytes(value: Any) -> int:
    """Roughly what a result holds: the length of its strings and bytes (base64 audio dominates)."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if isinstance(value, dict):
        return sum(approx_bytes(k) + approx_bytes(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(approx_bytes(v) for v in value)
    return 8


@dataclass
class Job:
    id: str
    input: Any                                   # dropped when the job ends
    webhook: str | None = None
    execution_timeout_s: float | None = None     # RunPod's policy.executionTimeout
    ttl_s: float | None = None                   # RunPod's policy.ttl: the job's whole life from submission
    s3_config: dict | None = field(default=None, repr=False)   # RunPod's s3Config (holds a secret: never shown)
    status: str = IN_QUEUE
    output: Any = None
    error: str | None = None
    progress: Any = None                         # the last progress update: IN_PROGRESS status shows it as output
    keep_until: float | None = None              # set by `/status?ttl=`: the result is kept until then
    stream: list = field(default_factory=list)   # items not yet returned by /stream
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)   # set on the event loop when terminal
    loop: asyncio.AbstractEventLoop | None = None
    retained: int = 0                            # approx_bytes of what is kept for /status and /retry
    cancellation: Cancellation = field(default_factory=Cancellation, repr=False)   # set when it must stop

    def payload(self) -> dict:
        """The RunPod status payload: id, status, output or error, delayTime and executionTime in ms."""
        now = time.monotonic()
        body: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.status == COMPLETED:
            body["output"] = self.output
        elif self.status == IN_PROGRESS and self.progress is not None:
            body["output"] = self.progress      # RunPod shows progress_update's payload this way
        if self.error is not None:
            body["error"] = self.error
        body["delayTime"] = round(((self.started or now) - self.submitted) * 1e3)
        body["executionTime"] = round(((self.finished or now) - self.started) * 1e3) if self.started else 0
        return body


class JobQueue:
    """Jobs by id; `concurrency` threads run them in order; at most `max_queued` wait; finished jobs are kept
    `ttl_s` seconds while their outputs together hold under `max_retained_bytes` (the oldest go first)."""

    def __init__(self, worker: JobWorker, concurrency: int, ttl_s: float, on_end: Callable[[Job], None] | None = None,
                 streaming: bool = True, max_queued: int = 256, max_retained_bytes: int = 256 * 1024 * 1024):
        """`streaming`: run every job as RunPod runs the generator handler (outputs are lists of items)."""
        self.worker, self.ttl_s, self.concurrency, self.on_end = worker, ttl_s, concurrency, on_end
        self.streaming = streaming
        self.max_queued, self.max_retained_bytes = max_queued, max_retained_bytes
        self.retained = 0   # bytes of the finished outputs kept
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="job")
        self.counts = {COMPLETED: 0, FAILED: 0, CANCELLED: 0, TIMED_OUT: 0}
        self.retried = 0
        self.metrics = Metrics()   # queue_wait_seconds: from submission to a thread taking the job
        self.busy = 0   # threads synthesizing now (a cancelled job's thread stays busy until its sentence is made)

    # -- submission and lookup -------------------------------------------------------------------
    def submit(self, job_input: Any, webhook: str | None = None, execution_timeout_s: float | None = None,
               prefix: str = "", ttl_s: float | None = None, s3_config: dict | None = None) -> Job:
        """Queue a job; call on the event loop (its `done` event belongs to that loop). QueueFull when
        `max_queued` jobs are already waiting."""
        job = Job(f"{prefix}{uuid.uuid4()}", job_input, webhook, execution_timeout_s, ttl_s, s3_config,
                  loop=asyncio.get_running_loop())
        with self._lock:
            self._expire()
            if sum(j.status == IN_QUEUE for j in self._jobs.values()) >= self.max_queued:
                raise QueueFull(f"{self.max_queued} jobs are already waiting")
            self._jobs[job.id] = job
        self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._expire()
            job = self._jobs.get(job_id)
            if job is not None:
                self._check_timeout(job)
            return job

    def snapshot(self, job: Job) -> dict:
        with self._lock:
            return job.payload()

    def keep(self, job: Job, ttl_s: float) -> None:
        """RunPod's `/status/{id}?ttl=ms`: keep the job (and its result) `ttl_s` seconds from now."""
        with self._lock:
            job.keep_until = time.monotonic() + ttl_s

    def retry(self, job: Job) -> dict | None:
        """RunPod's /retry: a FAILED or TIMED_OUT job runs again under its id; None for any other state.
        The retry is a fresh Job under the same id, so a timed-out run still finishing cannot touch it."""
        with self._lock:
            if job.status not in (FAILED, TIMED_OUT):
                return None
            again = Job(job.id, job.input, job.webhook, job.execution_timeout_s, job.ttl_s, job.s3_config,
                        loop=asyncio.get_running_loop())
            self.retained -= job.retained       # the failed run's kept input moves to the new run
            job.retained = 0
            self._jobs[job.id] = again
            self.retried += 1
        self._pool.submit(self._run, again)
        return {"id": again.id, "status": IN_QUEUE}

    def take_stream(self, job: Job) -> dict:
        """RunPod /stream: the items made since the last call, with the job's status (read together)."""
        with self._lock:
            items, job.stream = job.stream, []
            body = {"status": job.status, "stream": [{"output": item} for item in items]}
            if job.error is not None:
                body["error"] = job.error
            return body

    def cancel(self, job: Job) -> dict:
        """CANCELLED at once; the job's work stops before its next sentence (or batch item) and its thread takes
        the next queued job."""
        with self._lock:
            if job.status not in TERMINAL:
                self._end(job, CANCELLED)
            return {"id": job.id, "status": job.status}

    def purge(self) -> int:
        """Cancel every job still waiting in the queue (RunPod's /purge-queue)."""
        with self._lock:
            queued = [j for j in self._jobs.values() if j.status == IN_QUEUE]
            for job in queued:
                self._end(job, CANCELLED)
            return len(queued)

    def health(self) -> dict:
        with self._lock:
            self._expire()
            queued = sum(j.status == IN_QUEUE for j in self._jobs.values())
            running = sum(j.status == IN_PROGRESS for j in self._jobs.values())
            busy = self.busy
        return {"jobs": {"completed": self.counts[COMPLETED], "failed": self.counts[FAILED], "inProgress": running,
                         "inQueue": queued, "retried": self.retried},
                "workers": {"idle": max(0, self.concurrency - busy), "initializing": 0, "ready": self.concurrency,
                            "running": busy, "throttled": 0, "unhealthy": 0}}

    def run_blocking(self, fn: Callable, *args) -> Future:
        """Run synthesis outside a job (the OpenAI routes) on the same threads, so concurrency holds for both."""
        return self._pool.submit(self._counted, fn, *args)

    def _counted(self, fn: Callable, *args):
        with self._lock:
            self.busy += 1
        try:
            return fn(*args)
        finally:
            with self._lock:
                self.busy -= 1

    def close(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                if job.status not in TERMINAL:
                    self._end(job, CANCELLED)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- running ---------------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        with self._lock:
            if job.status != IN_QUEUE:      # cancelled while queued
                return
            if self._past_ttl(job, time.monotonic()):   # policy.ttl ran out in the queue: never runs
                job.status, job.finished = CANCELLED, time.monotonic()
                return
            job.status, job.started = IN_PROGRESS, time.monotonic()
            self.metrics.observe("queue_wait_seconds", job.started - job.submitted)
            job_input = job.input
            self.busy += 1
        watchdog = self._watchdog(job)
        try:
            if self.streaming:
                self._run_stream(job, job_input)
            else:
                self._finish(job, self.worker.handle(job_input, job.id, progress=self._progress(job),
                                                       s3_config=job.s3_config, cancellation=job.cancellation))
        except Exception:   # the worker never raises; this guards the server's own bookkeeping
            log.exception("job %s crashed in the server", job.id)
            self._finish(job, {"error": InternalError("the server hit an unexpected error")})
        finally:
            if watchdog is not None:
                watchdog.cancel()
            with self._lock:
                self.busy -= 1

    def _watchdog(self, job: Job) -> threading.Timer | None:
        """A timer that ends the running job when policy.executionTimeout or policy.ttl runs out: its status
        changes at that moment and its cancellation stops the work before the next sentence."""
        limits = [t for t in ((job.started or 0) + job.execution_timeout_s if job.execution_timeout_s else None,
                              job.submitted + job.ttl_s if job.ttl_s else None) if t is not None]
        if not limits:
            return None
        timer = threading.Timer(max(0.0, min(limits) - time.monotonic()) + 0.01, self._time_up, args=(job,))
        timer.daemon = True
        timer.start()
        return timer

    def _time_up(self, job: Job) -> None:
        with self._lock:
            self._check_timeout(job)
            if job.status == IN_PROGRESS and self._past_ttl(job, time.monotonic()):
                self._end(job, CANCELLED, "its policy.ttl ran out")

    def _run_stream(self, job: Job, job_input: Any) -> None:
        items, collected, error = self.worker.stream(job_input, job.id, progress=self._progress(job),
                                                      s3_config=job.s3_config, cancellation=job.cancellation), [], None
        try:
            for item in items:
                if isinstance(item, dict) and "error" in item:
                    error = item
                    break
                with self._lock:
                    self._check_timeout(job)
                    if job.status != IN_PROGRESS:   # cancelled or timed out: stop before the next chunk
                        return
                    collected.append(item)
                    job.stream.append(item)
        finally:
            items.close()
        self._finish(job, error or collected)

    def _finish(self, job: Job, result: Any) -> None:
        """A handler's `error` moves to the job's top-level error (FAILED), as RunPod does; else COMPLETED."""
        with self._lock:
            self._check_timeout(job)
            if job.status != IN_PROGRESS:       # cancelled or timed out meanwhile: the result is discarded
                return
            if isinstance(result, dict) and "error" in result:
                error = result["error"]
                job.error = error.to_job_error() if isinstance(error, JobError) else str(error)   # RunPod's string
                self._end(job, FAILED)
            else:
                job.output = result
                if not self.streaming:          # /stream of a plain job hands out its one result
                    job.stream.append(result)
                job.retained = approx_bytes(result)
                self.retained += job.retained
                self._end(job, COMPLETED)
                self._evict()

    def _progress(self, job: Job) -> Callable[[Any], None]:
        """The job core's progress callback: the update shows in /status while the job runs."""
        def record(update: Any) -> None:
            with self._lock:
                if job.status == IN_PROGRESS:
                    job.progress = update
        return record

    # -- helpers (called with the lock held) ----------------------------------------------------
    def _end(self, job: Job, status: str, reason: str | None = None) -> None:
        job.status, job.finished = status, time.monotonic()
        if status == CANCELLED:                 # the running work stops before its next sentence
            job.cancellation.cancel(reason or "cancelled")
        elif status == TIMED_OUT:
            job.cancellation.cancel(reason or "its policy.executionTimeout ran out")
        if status in (COMPLETED, CANCELLED):    # the text and any reference audio are not needed any more
            job.input = None                    # (FAILED and TIMED_OUT keep theirs for /retry until they expire,
        elif status in (FAILED, TIMED_OUT):     # counted against max_retained_bytes like outputs)
            kept = approx_bytes(job.input) + approx_bytes(job.error)
            job.retained += kept
            self.retained += kept
            self._evict()
        self.counts[status] += 1
        if job.loop is not None:
            try:
                job.loop.call_soon_threadsafe(job.done.set)
            except RuntimeError:   # the event loop has shut down
                pass
        if self.on_end is not None and job.webhook:
            self.on_end(job)

    def _check_timeout(self, job: Job) -> None:
        if (job.status == IN_PROGRESS and job.execution_timeout_s is not None
                and time.monotonic() - job.started > job.execution_timeout_s):
            self._end(job, TIMED_OUT)

    @staticmethod
    def _past_ttl(job: Job, now: float) -> bool:
        return job.ttl_s is not None and now - job.submitted > job.ttl_s

    def _gone(self, job: Job, now: float) -> bool:
        """`?ttl=` decides alone once given; else the result retention, and policy.ttl for a job not running."""
        if job.keep_until is not None:
            return now > job.keep_until
        if job.finished is not None and now - job.finished > self.ttl_s:
            return True
        return job.status != IN_PROGRESS and self._past_ttl(job, now)

    def _expire(self) -> None:
        now = time.monotonic()
        for job_id in [i for i, j in self._jobs.items() if self._gone(j, now)]:
            job = self._forget(job_id)
            if job.status == IN_QUEUE:      # its thread must not run it later
                job.status, job.finished = CANCELLED, now

    def _evict(self) -> None:
        """Forget the oldest finished jobs until the kept outputs fit (they then answer 404, as if expired)."""
        if self.retained <= self.max_retained_bytes:
            return
        for job in sorted((j for j in self._jobs.values() if j.retained), key=lambda j: j.finished):
            if self.retained <= self.max_retained_bytes:
                break
            self._forget(job.id)

    def _forget(self, job_id: str) -> Job:
        job = self._jobs.pop(job_id)
        self.retained -= job.retained
        return job
