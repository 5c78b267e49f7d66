"""`python -m server`: build the worker from the environment and serve it on HOST:PORT."""
from __future__ import annotations

import dataclasses
import logging
import os
import sys

import uvicorn

from common.errors import JobError
from jobcore.settings import load_settings
from jobcore.worker import Worker

from . import create_app, load_server_settings
from .processes import WorkerProcesses

log = logging.getLogger("server")


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server_settings = load_server_settings()
        if server_settings.workers > 1:   # N processes, one job each at a time: N job threads feed them
            worker = WorkerProcesses(load_settings(), server_settings.workers)
            server_settings = dataclasses.replace(server_settings, concurrency=server_settings.workers)
        else:
            worker = Worker.from_settings(load_settings())
    except JobError as exc:
        log.error("cannot start: %s", exc.message)
        return 1
    kind = "processes" if server_settings.workers > 1 else "thread(s)"
    log.info("serving %s on http://%s:%d (%d worker %s%s)", worker.backend.name, server_settings.host,
             server_settings.port, server_settings.concurrency, kind,
             ", API key required" if server_settings.api_key else "")
    try:
        uvicorn.run(create_app(worker, server_settings), host=server_settings.host, port=server_settings.port,
                    log_level=os.environ.get("LOG_LEVEL", "info").lower())
    finally:
        if isinstance(worker, WorkerProcesses):
            worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
