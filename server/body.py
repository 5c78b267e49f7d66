"""Reading a request's JSON body with a size cap: refused by Content-Length first, then while streaming."""
from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from .errors import ApiError

MB = 1024 * 1024


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request is larger than {limit / MB:g} MB", "request_too_large")


def is_json(content_type: str | None) -> bool:
    """application/json or application/<x>+json, with any parameters (charset)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_json(request: Request, limit: int) -> Any:
    """The parsed body. 415 unless JSON (a cross-site form or text/plain POST cannot send that without a
    preflight); 413 over `limit` bytes, nothing kept past the cap; 400 for malformed or absurdly nested JSON."""
    if not is_json(request.headers.get("content-type")):
        raise ApiError(415, "the body must be JSON sent as Content-Type: application/json", "invalid_input")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError:
            raise ApiError(400, "Content-Length is not a number", "invalid_input") from None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    del chunks
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):   # RecursionError: JSON nested thousands deep
        raise ApiError(400, "the body must be JSON", "invalid_input") from None
