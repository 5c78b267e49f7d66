"""`python -m server`: build the worker from the environment and serve it on HOST:PORT."""
from __future__ import annotations

import logging
import os
import sys

import uvicorn

from common.errors import JobError
from jobcore.settings import load_settings
from jobcore.worker import Worker

from . import create_app, load_server_settings
from .guard import check_exposure

log = logging.getLogger("server")


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server_settings = load_server_settings()
        check_exposure(server_settings.host, server_settings.api_key)
    except (JobError, ValueError) as exc:
        log.error("cannot start: %s", getattr(exc, "message", exc))
        return 1
    try:
        worker = Worker.from_settings(load_settings())
    except JobError as exc:
        log.error("cannot start: %s", exc.message)
        return 1
    log.info("serving %s on http://%s:%d (%d worker thread(s)%s)", worker.backend.name, server_settings.host,
             server_settings.port, server_settings.concurrency, ", API key required" if server_settings.api_key else "")
    uvicorn.run(create_app(worker, server_settings), host=server_settings.host, port=server_settings.port,
                log_level=os.environ.get("LOG_LEVEL", "info").lower())
    return 0


if __name__ == "__main__":
    sys.exit(main())
