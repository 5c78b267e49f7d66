"""HTTP errors of the server, and job error codes mapped to HTTP statuses."""
from __future__ import annotations

import json

# job error code -> HTTP status, for the routes that answer with audio instead of a job payload; every code of
# common.errors is here (a test walks them)
HTTP_STATUS = {
    "invalid_input": 400, "text_too_long": 400, "unsupported_format": 400, "audio_invalid": 400,
    "cloning_unsupported": 400, "voice_not_found": 404, "voice_exists": 409, "output_too_large": 413,
    "storage_unavailable": 503, "backend_unavailable": 503, "internal_error": 500,
}


class ApiError(Exception):
    """An HTTP error answer: RunPod routes send {"error": message}, OpenAI routes OpenAI's error object."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def from_job_error(error: str) -> ApiError:
    """A job's error JSON string (code, message, hint) -> ApiError with the mapped HTTP status."""
    try:
        parsed = json.loads(error)
    except (TypeError, ValueError):
        parsed = None
    if not isinstance(parsed, dict):
        return ApiError(500, str(error), "internal_error")
    code = str(parsed.get("code") or "internal_error")
    message = str(parsed.get("message") or code)
    if parsed.get("hint"):
        message = f"{message} ({parsed['hint']})"
    return ApiError(HTTP_STATUS.get(code, 500), message, code)


def openai_body(exc: ApiError) -> dict:
    kind = "invalid_request_error" if exc.status < 500 else "server_error"
    if exc.status == 401:
        kind = "authentication_error"
    return {"error": {"message": exc.message, "type": kind, "param": None, "code": exc.code}}
