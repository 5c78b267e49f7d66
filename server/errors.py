"""HTTP errors of the server: an ApiError answers a request; a job's JobError carries its own HTTP status."""
from __future__ import annotations

from common.errors import JobError


class ApiError(Exception):
    """An HTTP error answer: RunPod routes send {"error": message}, OpenAI routes OpenAI's error object."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code

    @classmethod
    def of(cls, error: JobError) -> ApiError:
        """A job's error as an answer with its status (the hint joins the message)."""
        message = f"{error.message} ({error.hint})" if error.hint else error.message
        return cls(error.status, message, error.code)


def openai_body(exc: ApiError) -> dict:
    kind = "invalid_request_error" if exc.status < 500 else "server_error"
    if exc.status == 401:
        kind = "authentication_error"
    return {"error": {"message": exc.message, "type": kind, "param": None, "code": exc.code}}
