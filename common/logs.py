"""Logging policy shared by the entry points: HTTP client libraries never log request URLs (tokens ride in them)."""
from __future__ import annotations

import logging

# httpx logs every request line with its full URL at INFO: webhook tokens in query strings, presigned URLs
URL_LOGGERS = ("httpx", "httpcore", "urllib3", "botocore")


def quiet_url_loggers() -> None:
    """Only warnings and errors from the HTTP client libraries, whatever the root level."""
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
