"""WORKERS=N: N worker processes, each with its own model, behind the Worker interface the job queue uses.

Each process (spawned, not forked) builds a Worker from the settings and runs one job at a time; jobs and
results cross as JSON-able dicts over a pipe. A streamed job holds its process until the stream ends or is
closed (a cancel closes it between sentences, as with threads). A process that dies while running a job fails that
job at once (internal_error) and is replaced in the background; a dead idle one is replaced before it gets a job.
Progress callbacks do not cross. The OpenAI speech route needs an in-process worker
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
from jobcore.settings import Settings

log = logging.getLogger(__name__)


def _serve(conn, settings: Settings) -> None:
    """The process's loop: ("handle", input, id) -> ("result", dict); ("stream", input, id), then ("next",)
    -> ("item", dict) | ("end",) and ("close",) -> ("end",); ("stop",) ends the process."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format=f"%(asctime)s %(levelname)s worker-{os.getpid()} %(name)s: %(message)s")
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
            conn.send(("result", worker.handle(message[1], message[2], s3_config=message[3])))
        elif kind == "stream":
            items = worker.stream(message[1], message[2], s3_config=message[3])
        elif kind == "next":
            try:
                conn.send(("item", next(items)))
            except StopIteration:
                items = None
                conn.send(("end",))
        elif kind == "close":
            if items is not None:
                items.close()
                items = None
            conn.send(("end",))
        elif kind == "stop":
            return


class _Process:
    """One worker process and the parent's end of its pipe (used by one thread at a time)."""

    def __init__(self, context, settings: Settings, number: int):
        self.context, self.settings, self.number = context, settings, number
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
        return self.conn.recv()

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

    def _take(self) -> _Process:
        """A free, live process. A dead idle one is never handed a job: it is replaced in the background and
        another is taken (waiting for a free one, or for the replacement)."""
        while True:
            process = self._free.get()
            if process.process.is_alive():
                return process
            self._recover(process)

    def handle(self, job_input, job_id: str | None = None, progress=None, s3_config: dict | None = None,
               cancellation=None) -> dict:
        """`cancellation` does not cross into the process: a cancelled plain job runs to its end there (a streamed
        one is closed between sentences)."""
        while True:
            process = self._take()
            try:
                process.conn.send(("handle", job_input, job_id, s3_config))
            except (EOFError, OSError):      # died before the job reached it: the job runs on another
                self._recover(process)
                continue
            try:
                result = process.conn.recv()[1]
            except (EOFError, OSError):      # died while running it: the job fails now, not after the restart
                self._recover(process)
                return {"error": CRASHED.to_job_error()}
            self._free.put(process)
            return result

    def stream(self, job_input, job_id: str | None = None, progress=None,
               s3_config: dict | None = None, cancellation=None) -> Iterator[dict]:
        process = self._take()
        ended, dead = False, False
        try:
            process.conn.send(("stream", job_input, job_id, s3_config))
            while True:
                message = process.ask(("next",))
                if message[0] == "end":
                    ended = True
                    return
                yield message[1]
        except (EOFError, OSError):
            ended = dead = True
            self._recover(process)
            yield {"error": CRASHED.to_job_error()}
        finally:
            if not ended:     # closed early (a cancel, or a client that left): stop the stream in the process
                try:
                    process.ask(("close",))
                except (EOFError, OSError):
                    dead = True
                    self._recover(process)
            if not dead:
                self._free.put(process)

    def _recover(self, process: _Process) -> None:
        """Replace a dead process in the background; it rejoins the free ones once its model has loaded."""
        if self._closed.is_set():
            return

        def restart() -> None:
            try:
                process.replace(self.start_timeout_s)
            except BackendUnavailable as exc:
                log.error("%s", exc.message)       # put back dead (after a pause): the next _take tries again
                self._closed.wait(5.0)
            if not self._closed.is_set():
                self._free.put(process)

        threading.Thread(target=restart, name=f"restart-worker-{process.number}", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        for process in self.processes:
            process.stop(5.0)
