"""Logging policy shared by the entry points: one setup (text or JSON lines), and no request URL's query
string, job text, audio or secret in any line."""
from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping

# httpx logs every request line with its full URL at INFO: webhook tokens in query strings, presigned URLs
URL_LOGGERS = ("httpx", "httpcore", "urllib3", "botocore")
# what a job's log lines carry besides the message (passed as `extra=`); never the text or the audio
JOB_FIELDS = ("job_id", "action", "backend", "status", "error_code", "timings_ms")
# a URL or a path followed by a query string: presigned signatures, webhook tokens, `?ttl=`
QUERY = re.compile(r"((?:[a-z][a-z0-9+.-]*://|/)[^\s?#\"']*)\?[^\s\"']*", re.IGNORECASE)


def quiet_url_loggers() -> None:
    """Only warnings and errors from the HTTP client libraries, whatever the root level."""
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def strip_queries(text: str) -> str:
    """Every URL's and path's query string cut off (`/status/abc?ttl=5` -> `/status/abc`)."""
    return QUERY.sub(r"\1", text)


class QueryFilter(logging.Filter):
    """Renders each record's message once, without query strings (uvicorn's access lines carry the full path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = strip_queries(message), None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the job fields given, exception."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        entry: dict[str, object] = {"time": stamp, "level": record.levelname, "logger": record.name,
                                    "message": record.getMessage()}
        for name in JOB_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.processName not in (None, "MainProcess"):
            entry["process"] = record.processName
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


OUR_HANDLER = "tts-worker"


def setup_logging(env: Mapping[str, str] | None = None, prefix: str = "", level: str | None = None) -> str:
    """The root logger for an entry point: `level`, else LOG_LEVEL (INFO; an unknown level warns and uses INFO),
    LOG_FORMAT `text` (default) or `json`; HTTP client libraries quieted; query strings stripped from every line.
    `prefix` goes before the logger name in text. Returns the level's name (uvicorn takes it too)."""
    env = os.environ if env is None else env
    handler = logging.StreamHandler()
    if env.get("LOG_FORMAT", "text").strip().lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s"))
    handler.addFilter(QueryFilter())
    handler.set_name(OUR_HANDLER)
    root = logging.getLogger()            # ours replaces an earlier one of ours; others (a test's capture) stay
    root.handlers[:] = [h for h in root.handlers if h.get_name() != OUR_HANDLER] + [handler]
    chosen = (level or env.get("LOG_LEVEL") or "INFO").strip().upper()
    known = isinstance(logging.getLevelName(chosen), int)
    root.setLevel(chosen if known else "INFO")
    quiet_url_loggers()
    if not known:            # an unknown LOG_LEVEL must not stop the worker from starting
        logging.getLogger(__name__).warning("LOG_LEVEL=%r is not a logging level; using INFO", chosen)
    return chosen if known else "INFO"
