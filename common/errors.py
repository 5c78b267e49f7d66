"""The one error hierarchy of the project (ground floor): each error has a stable code and becomes the job error shape."""
from __future__ import annotations

import json


class JobError(Exception):
    """A failure the client should see: a stable `code`, a human `message`, an optional `hint`."""

    code = "internal_error"

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "hint": self.hint}

    def to_job_error(self) -> str:
        """RunPod takes `error` as a string; a JSON string keeps it structured."""
        return json.dumps(self.to_dict())


class InvalidInput(JobError):
    code = "invalid_input"


class TextTooLong(JobError):
    code = "text_too_long"


class UnsupportedFormat(JobError):
    code = "unsupported_format"


class VoiceNotFound(JobError):
    code = "voice_not_found"


class VoiceExists(JobError):
    code = "voice_exists"


class CloningUnsupported(JobError):
    code = "cloning_unsupported"


class AudioInvalid(JobError):
    code = "audio_invalid"


class StorageUnavailable(JobError):
    code = "storage_unavailable"


class OutputTooLarge(JobError):
    code = "output_too_large"


class BackendUnavailable(JobError):
    code = "backend_unavailable"


class InternalError(JobError):
    code = "internal_error"


class JobCancelled(JobError):
    """The job was stopped before it finished (a cancel, its time running out, the caller leaving)."""

    code = "cancelled"
