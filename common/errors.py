"""The one error hierarchy of the project (ground floor): each error has a stable code and an HTTP status, and
stays an object until an entry point serializes it (`to_job_error`, RunPod's error string)."""
from __future__ import annotations

import json
from typing import Any


class JobError(Exception):
    """A failure the client should see: a stable `code`, a human `message`, an optional `hint`, and the HTTP
    `status` the routes that answer with audio give it (4xx: the request's fault, 5xx: the worker's)."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self):               # pickles whole (message and hint) across a worker process's pipe
        return type(self), (self.message, self.hint)

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "hint": self.hint}

    def to_job_error(self) -> str:
        """RunPod takes `error` as a string; a JSON string keeps it structured."""
        return json.dumps(self.to_dict())

    @staticmethod
    def from_dict(fields: dict) -> JobError:
        """The error a to_dict() describes, as its own class (an unknown code: a JobError with that code)."""
        code = str(fields.get("code") or "internal_error")
        cls = ERRORS.get(code)
        message = str(fields.get("message") or code)
        hint = fields.get("hint")
        if cls is not None:
            return cls(message, hint)
        error = JobError(message, hint)
        error.code = code
        return error


class InvalidInput(JobError):
    code, status = "invalid_input", 400


class TextTooLong(JobError):
    code, status = "text_too_long", 400


class UnsupportedFormat(JobError):
    code, status = "unsupported_format", 400


class VoiceNotFound(JobError):
    code, status = "voice_not_found", 404


class VoiceExists(JobError):
    code, status = "voice_exists", 409


class CloningUnsupported(JobError):
    code, status = "cloning_unsupported", 400


class AudioInvalid(JobError):
    code, status = "audio_invalid", 400


class StorageUnavailable(JobError):
    code, status = "storage_unavailable", 503


class OutputTooLarge(JobError):
    code, status = "output_too_large", 413


class BackendUnavailable(JobError):
    code, status = "backend_unavailable", 503


class InternalError(JobError):
    code, status = "internal_error", 500


class JobCancelled(JobError):
    """The job was stopped before it finished (a cancel, its time running out, the caller leaving)."""

    code, status = "cancelled", 499     # nginx's "client closed request": no standard status fits


def _subclasses(cls: type[JobError]) -> list[type[JobError]]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


# code -> class, for from_dict (InternalError stands for the base class's code)
ERRORS: dict[str, type[JobError]] = {cls.code: cls for cls in _subclasses(JobError)}


def job_output(item: Any) -> Any:
    """A worker's result or streamed item as an entry point sends it: an `error` object becomes RunPod's error
    string (its JSON); anything else passes as it is."""
    if isinstance(item, dict) and isinstance(item.get("error"), JobError):
        return {**item, "error": item["error"].to_job_error()}
    return item
