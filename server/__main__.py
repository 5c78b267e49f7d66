"""`python -m server`: build the worker from the environment and serve it on HOST:PORT."""
from __future__ import annotations

import logging
import os
import socket
import sys

import uvicorn

from common.errors import JobError
from jobcore.settings import load_settings
from jobcore.worker import Worker

from . import create_app, load_server_settings

log = logging.getLogger("server")


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server_settings = load_server_settings()
        worker = Worker.from_settings(load_settings())
    except JobError as exc:
        log.error("cannot start: %s", exc.message)
        return 1
    log.info("serving %s on http://%s:%d (%d worker thread(s)%s)", worker.backend.name, server_settings.host,
             server_settings.port, server_settings.concurrency, ", API key required" if server_settings.api_key else "")
    ports = {server_settings.port, server_settings.health_port or server_settings.port}
    server = uvicorn.Server(uvicorn.Config(create_app(worker, server_settings),
                                           log_level=os.environ.get("LOG_LEVEL", "info").lower()))
    server.run(sockets=[listen(server_settings.host, port) for port in sorted(ports)])
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A bound socket: the app serves PORT and, when RunPod's PORT_HEALTH differs, that port too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


if __name__ == "__main__":
    sys.exit(main())
