"""`python -m server`: build the worker from the environment and serve it on HOST:PORT (and PORT_HEALTH)."""
from __future__ import annotations

import dataclasses
import logging
import socket
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import uvicorn

from common.errors import JobError
from common.logs import setup_logging
from jobcore.worker import BrokenWorker, start_worker

from . import create_app, load_server_settings
from .guard import check_exposure
from .processes import WorkerProcesses

log = logging.getLogger("server")


def main() -> int:
    level = setup_logging()
    try:
        server_settings = load_server_settings()
        check_exposure(server_settings.host, server_settings.api_key)
    except (JobError, ValueError) as exc:
        hint = getattr(exc, "hint", None)
        log.error("cannot start: %s%s", getattr(exc, "message", exc), f" ({hint})" if hint else "")
        return 1
    ports = sorted({server_settings.port, server_settings.health_port or server_settings.port})
    sockets = [listen(server_settings.host, port) for port in ports]
    workers = server_settings.workers
    with initializing(sockets):       # RunPod's load balancer sees 204 on /ping while the model loads
        if workers > 1:               # N processes, one job each at a time: N job threads feed them
            worker = start_worker(build=lambda settings: WorkerProcesses(settings, workers))
            server_settings = dataclasses.replace(server_settings, concurrency=workers)
        else:
            worker = start_worker()
    if isinstance(worker, BrokenWorker):   # keeps serving: every job answers with the reason
        hint = f" ({worker.error.hint})" if worker.error.hint else ""
        log.error("serving the start-up error to every job: %s %s%s", worker.error.code, worker.error.message, hint)
    kind = "processes" if workers > 1 else "thread(s)"
    log.info("serving %s on http://%s:%s (%d worker %s%s)", worker.backend_name, server_settings.host,
             "/".join(map(str, ports)), server_settings.concurrency, kind,
             ", API key required" if server_settings.api_key else "")
    server = uvicorn.Server(uvicorn.Config(create_app(worker, server_settings), log_config=None,   # our handler, format
                                           log_level=level.lower()))
    try:
        server.run(sockets=sockets)
    finally:
        worker.close()
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket: the app serves PORT and, when RunPod's PORT_HEALTH differs, that port too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


class _Initializing(BaseHTTPRequestHandler):
    """Before the app exists: `GET /ping` answers 204 (RunPod: initializing), anything else 503."""

    def do_GET(self):
        self._answer(204 if self.path.split("?")[0] == "/ping" else 503)

    def do_POST(self):
        self._answer(503)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.send_header("connection", "close")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def initializing(sockets: list[socket.socket]):
    """Answer on `sockets` with _Initializing until the block ends; the sockets stay open for the app."""
    servers = []
    for sock in sockets:
        server = ThreadingHTTPServer(sock.getsockname()[:2], _Initializing, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
        servers.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        yield
    finally:
        for server in servers:
            server.shutdown()         # stops serving; does not close the socket


if __name__ == "__main__":
    sys.exit(main())
