"""WORKERS=N: N worker processes, each with its own model, behind the one worker interface (jobcore.interface).

Each process (spawned, not forked) starts its worker through jobcore's start_worker and runs one job at a time;
jobs, results and speech chunks cross as picklable values over a pipe (errors as JobError objects). A streamed
job or a speech holds its process until its items end or are closed (a cancel closes them between items, as with
threads). A process that dies while running a job fails that job at once (internal_error) and is replaced in
the background; a dead idle one is replaced before it is handed a job. Progress callbacks do not cross;
a job's cancellation is checked here, between items. Each result and item end carries the process's metrics
snapshot, and `metrics_snapshot()` sums the last one of every process.
"""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Iterator
from typing import Any

from common.errors import BackendUnavailable, InternalError, JobError
from common.logs import setup_logging
from jobcore.context import Cancellation, Progress
from jobcore.metrics import merge
from jobcore.settings import Settings
from jobcore.synthesis import Speech

log = logging.getLogger(__name__)


def _serve(conn, settings: Settings) -> None:
    """The process's loop: ("handle", input, id, s3) -> ("result", dict); ("stream", input, id, s3) or
    ("speech", input) -> ("speech", format, rate) | ("error", JobError), then ("next",) -> ("item", value) |
    ("end", metrics) | ("error", JobError), and ("close",) -> ("end", metrics); ("stop",) ends the process.
    A result carries the process's metrics snapshot too: ("result", dict, metrics)."""
    from jobcore.worker import BrokenWorker, start_worker

    setup_logging(prefix=f"worker-{os.getpid()} ")
    worker = start_worker(settings)
    if isinstance(worker, BrokenWorker):
        conn.send(("failed", worker.error))
        return
    conn.send(("ready", worker.backend_name))
    items: Iterator[Any] | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "handle":
            result = worker.handle(message[1], message[2], s3_config=message[3])
            conn.send(("result", result, worker.metrics_snapshot()))
        elif kind == "stream":
            items = worker.stream(message[1], message[2], s3_config=message[3])
        elif kind == "speech":
            try:
                speech = worker.speech(message[1])
            except Exception as exc:
                conn.send(("error", _job_error(exc)))
            else:
                items = speech.chunks
                conn.send(("speech", speech.format, speech.sample_rate))
        elif kind == "next":
            try:
                conn.send(("item", next(items)))            # type: ignore[arg-type]
            except StopIteration:
                items = None
                conn.send(("end", worker.metrics_snapshot()))
            except Exception as exc:                        # a speech's chunks raise; a stream's never do
                items = None
                conn.send(("error", _job_error(exc)))
        elif kind == "close":
            if items is not None:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
                items = None
            conn.send(("end", worker.metrics_snapshot()))
        elif kind == "stop":
            return


def _job_error(exc: Exception) -> JobError:
    if isinstance(exc, JobError):
        return exc
    log.exception("speech crashed", exc_info=exc)
    return InternalError("the worker hit an unexpected error; it is logged", hint="retry; report it if it persists")


class _Process:
    """One worker process and the parent's end of its pipe (used by one thread at a time)."""

    def __init__(self, context, settings: Settings, number: int):
        self.context, self.settings, self.number = context, settings, number
        self.metrics: dict = {}     # the last snapshot the process sent
        self.restarting = threading.Event()   # set while a replacement of a dead process loads
        self.start()

    def start(self) -> None:
        self.conn, child = self.context.Pipe()
        self.process = self.context.Process(target=_serve, args=(child, self.settings), daemon=True,
                                            name=f"tts-worker-{self.number}")
        self.process.start()
        child.close()

    def ready(self, timeout: float) -> str:
        """The backend's name once the model is loaded; the start-up error (a JobError) if it could not start."""
        if not self.conn.poll(timeout):
            raise BackendUnavailable(f"worker process {self.number} did not start within {timeout:.0f} s")
        try:
            kind, detail = self.conn.recv()
        except (EOFError, OSError):
            kind, detail = "failed", BackendUnavailable(f"worker process {self.number} could not start: "
                                                        f"the process exited with code {self.process.exitcode}")
        if kind != "ready":
            raise detail
        return detail

    def ask(self, message: tuple) -> tuple:
        self.conn.send(message)
        answer = self.conn.recv()
        if answer[0] in ("result", "end"):
            self.metrics = answer[-1]
        return answer

    def replace(self, timeout: float) -> None:
        """After a crash: a fresh process (the job in flight is lost)."""
        log.error("worker process %d died (exit code %s); starting a new one", self.number, self.process.exitcode)
        self.stop(0.0)
        self.start()
        self.ready(timeout)

    def stop(self, timeout: float) -> None:
        try:
            self.conn.send(("stop",))
        except (OSError, ValueError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


def crashed() -> InternalError:
    return InternalError("the worker process running this job died", hint="try again; see the server log")


class WorkerProcesses:
    """`count` worker processes; each job takes a free one (waiting if all are busy). Raises the start-up error
    (a JobError) when a process cannot start: jobcore's start_worker turns that into a BrokenWorker."""

    def __init__(self, settings: Settings, count: int, start_timeout_s: float = 600.0):
        if settings.threads == 0:   # "all cores" would oversubscribe: share them out
            settings = dataclasses.replace(settings, threads=max(1, (os.cpu_count() or 1) // count))
        context = multiprocessing.get_context("spawn")
        self._closed = threading.Event()
        self.start_timeout_s = start_timeout_s
        self.processes = [_Process(context, settings, n) for n in range(count)]
        try:
            names = {p.ready(start_timeout_s) for p in self.processes}
        except BaseException:
            self.close()
            raise
        self._backend_name = names.pop()
        self.settings = settings
        self._free: queue.SimpleQueue[_Process] = queue.SimpleQueue()
        for process in self.processes:
            self._free.put(process)

    @property
    def backend_name(self) -> str:
        return self._backend_name

    @property
    def streaming(self) -> bool:
        return self.settings.streaming

    def handle(self, job_input, job_id: str | None = None, progress: Progress | None = None,
               s3_config: dict | None = None, cancellation: Cancellation | None = None) -> dict:
        process = self._take()
        try:
            if cancellation is not None:
                cancellation.check()
            return process.ask(("handle", job_input, job_id, s3_config))[1]
        except JobError as exc:
            return {"error": exc}
        except (EOFError, OSError):
            self._recover(process)
            return {"error": crashed()}
        finally:
            self._free.put(process)

    def stream(self, job_input, job_id: str | None = None, progress: Progress | None = None,
               s3_config: dict | None = None, cancellation: Cancellation | None = None) -> Iterator[dict]:
        process = self._take()
        remote = _Remote(self, process, cancellation)
        try:
            process.conn.send(("stream", job_input, job_id, s3_config))
            yield from remote
        except JobError as exc:             # cancelled between items
            yield {"error": exc}
        except (EOFError, OSError):
            yield {"error": crashed()}
        finally:
            remote.close()

    def speech(self, job_input, cancellation: Cancellation | None = None) -> Speech:
        """Planned in a process (JobError raised here); the chunks come from that process as they are read,
        and it stays taken until they end or are closed."""
        process = self._take()
        remote = _Remote(self, process, cancellation)
        try:
            reply = process.ask(("speech", job_input))
        except (EOFError, OSError):
            remote.lost()
            raise crashed() from None
        if reply[0] != "speech":
            remote.release()
            raise reply[1]
        return Speech(reply[1], reply[2], remote)

    def metrics_snapshot(self) -> dict:
        """Every process's counters summed (as of its last job), with the caches' counts summed too."""
        snapshots = [p.metrics for p in self.processes if p.metrics]
        caches: dict[str, dict] = {}
        for snap in snapshots:
            for name, counts in snap.get("caches", {}).items():
                total = caches.setdefault(name, {})
                for key, value in counts.items():
                    if isinstance(value, (int, float)) and not key.endswith(("max_bytes", "ttl_s")):
                        total[key] = total.get(key, 0) + value
        return {**merge(snapshots), "caches": caches}

    def _take(self) -> _Process:
        """A free, live process. A dead idle one is never handed a job: it is replaced first (this job waits for
        the replacement; a process still loading its replacement is waited for too)."""
        process = self._free.get()
        while not self._closed.is_set() and (process.restarting.is_set() or not process.process.is_alive()):
            self._recover(process)
            while process.restarting.is_set() and not self._closed.is_set():
                self._closed.wait(0.05)
            if not process.process.is_alive():   # the replacement could not start: the job fails as crashed
                break
        return process

    def _recover(self, process: _Process) -> None:
        """Replace a dead process in the background, so the job that was running on it fails at once instead of
        after the new model has loaded; `_take` waits for it before handing it a job."""
        if self._closed.is_set() or process.restarting.is_set():
            return
        process.restarting.set()

        def restart() -> None:
            try:
                process.replace(self.start_timeout_s)
            except JobError as exc:
                log.error("%s", exc.message)
            finally:
                process.restarting.clear()

        threading.Thread(target=restart, name=f"restart-worker-{process.number}", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        for process in self.processes:
            process.stop(5.0)


class _Remote:
    """The items of a stream or speech running in a process, read one by one; the process goes back to the
    free ones once they end, fail or are closed (a closed stream stops in the process first)."""

    def __init__(self, owner: WorkerProcesses, process: _Process, cancellation: Cancellation | None):
        self.owner, self.process, self.cancellation = owner, process, cancellation
        self.running, self.released = True, False

    def __iter__(self) -> _Remote:
        return self

    def __next__(self) -> Any:
        if not self.running:
            raise StopIteration
        if self.cancellation is not None and self.cancellation.cancelled:
            self.close()
            self.cancellation.check()
        try:
            message = self.process.ask(("next",))
        except (EOFError, OSError):
            self.lost()
            raise
        if message[0] == "item":
            return message[1]
        self.running = False
        self.release()
        if message[0] == "error":
            raise message[1]
        raise StopIteration

    def close(self) -> None:
        """Stop early (a cancel, a client that left): the process drops the items, then is free again."""
        if self.running and not self.released:
            self.running = False
            try:
                self.process.ask(("close",))
            except (EOFError, OSError):
                self.lost()
                return
        self.release()

    def lost(self) -> None:
        """The process died: replace it, then free it."""
        self.running = False
        if not self.released:
            self.owner._recover(self.process)
        self.release()

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.owner._free.put(self.process)
