"""WORKERS=N: N worker processes, each with its own model, behind the Worker interface the job queue uses.

Each process (spawned, not forked) builds a Worker from the settings and runs one job at a time; jobs and
results cross as JSON-able dicts over a pipe. A streamed job holds its process until the stream ends or is
closed (a cancel closes it between sentences, as with threads). A process that dies is replaced and its job
answers internal_error. Progress callbacks do not cross; each result and stream end carries the process's
metrics snapshot, and `metrics_snapshot()` sums the last one of every process. The OpenAI speech route needs an in-process worker
(`Worker.speech`): with WORKERS > 1 it answers 500 (use the job API, or WORKERS=1).
"""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Iterator
from types import SimpleNamespace

from common.errors import BackendUnavailable, InternalError
from common.logs import setup_logging
from jobcore.metrics import merge
from jobcore.settings import Settings

log = logging.getLogger(__name__)


def _serve(conn, settings: Settings) -> None:
    """The process's loop: ("handle", input, id) -> ("result", dict, metrics); ("stream", input, id), then
    ("next",) -> ("item", dict) | ("end", metrics) and ("close",) -> ("end", metrics); ("stop",) ends it."""
    setup_logging(prefix=f"worker-{os.getpid()} ")
    from common.errors import JobError
    from jobcore.worker import Worker
    try:
        worker = Worker.from_settings(settings)
    except JobError as exc:
        conn.send(("failed", exc.message))
        return
    conn.send(("ready", worker.backend.name))
    items = None
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
        elif kind == "next":
            try:
                conn.send(("item", next(items)))
            except StopIteration:
                items = None
                conn.send(("end", worker.metrics_snapshot()))
        elif kind == "close":
            if items is not None:
                items.close()
                items = None
            conn.send(("end", worker.metrics_snapshot()))
        elif kind == "stop":
            return


class _Process:
    """One worker process and the parent's end of its pipe (used by one thread at a time)."""

    def __init__(self, context, settings: Settings, number: int):
        self.context, self.settings, self.number = context, settings, number
        self.metrics: dict = {}     # the last snapshot the process sent
        self.start()

    def start(self) -> None:
        self.conn, child = self.context.Pipe()
        self.process = self.context.Process(target=_serve, args=(child, self.settings), daemon=True,
                                            name=f"tts-worker-{self.number}")
        self.process.start()
        child.close()

    def ready(self, timeout: float) -> str:
        """The backend's name once the model is loaded; BackendUnavailable if the process could not start."""
        if not self.conn.poll(timeout):
            raise BackendUnavailable(f"worker process {self.number} did not start within {timeout:.0f} s")
        try:
            kind, detail = self.conn.recv()
        except (EOFError, OSError):
            kind, detail = "failed", f"the process exited with code {self.process.exitcode}"
        if kind != "ready":
            raise BackendUnavailable(f"worker process {self.number} could not start: {detail}")
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


CRASHED = InternalError("the worker process running this job died", hint="try again; see the server log")


class WorkerProcesses:
    """`count` worker processes; `handle` and `stream` take a free one (waiting if all are busy)."""

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
        self.backend = SimpleNamespace(name=names.pop())
        self.settings = settings
        self._free: queue.SimpleQueue[_Process] = queue.SimpleQueue()
        for process in self.processes:
            self._free.put(process)

    def handle(self, job_input, job_id: str | None = None, progress=None, s3_config: dict | None = None) -> dict:
        process = self._free.get()
        try:
            return process.ask(("handle", job_input, job_id, s3_config))[1]
        except (EOFError, OSError):
            self._recover(process)
            return {"error": CRASHED.to_job_error()}
        finally:
            self._free.put(process)

    def stream(self, job_input, job_id: str | None = None, progress=None,
               s3_config: dict | None = None) -> Iterator[dict]:
        process = self._free.get()
        ended = False
        try:
            process.conn.send(("stream", job_input, job_id, s3_config))
            while True:
                message = process.ask(("next",))
                if message[0] == "end":
                    ended = True
                    return
                yield message[1]
        except (EOFError, OSError):
            ended = True
            self._recover(process)
            yield {"error": CRASHED.to_job_error()}
        finally:
            if not ended:     # closed early (a cancel, or a client that left): stop the stream in the process
                try:
                    process.ask(("close",))
                except (EOFError, OSError):
                    self._recover(process)
            self._free.put(process)

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

    def _recover(self, process: _Process) -> None:
        if not self._closed.is_set():
            try:
                process.replace(self.start_timeout_s)
            except BackendUnavailable as exc:
                log.error("%s", exc.message)

    def close(self) -> None:
        self._closed.set()
        for process in self.processes:
            process.stop(5.0)
