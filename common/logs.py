"""Logging for every entry point: one setup (LOG_LEVEL), and HTTP client libraries that never log request URLs
(tokens ride in them)."""
from __future__ import annotations

import logging
import os

# httpx logs every request line with its full URL at INFO: webhook tokens in query strings, presigned URLs
URL_LOGGERS = ("httpx", "httpcore", "urllib3", "botocore")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str | int | None = None, process: str | None = None) -> str:
    """Configure the root logger once per process: `level`, else LOG_LEVEL, else INFO; `process` names this
    process in each line (a worker process of the server). Returns the level's name (uvicorn takes it too)."""
    chosen = level if level is not None else (os.environ.get("LOG_LEVEL") or "INFO")
    name = logging.getLevelName(chosen) if isinstance(chosen, int) else str(chosen).strip().upper()
    known = isinstance(logging.getLevelName(name), int)
    fmt = FORMAT if process is None else FORMAT.replace("%(name)s", f"{process} %(name)s")
    logging.basicConfig(level=name if known else "INFO", format=fmt)
    quiet_url_loggers()
    if not known:            # an unknown LOG_LEVEL must not stop the worker from starting
        logging.getLogger(__name__).warning("LOG_LEVEL=%r is not a logging level; using INFO", chosen)
        name = "INFO"
    return name


def quiet_url_loggers() -> None:
    """Only warnings and errors from the HTTP client libraries, whatever the root level."""
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
