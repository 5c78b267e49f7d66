"""Where a finished job's audio goes: inline as base64, or into object storage behind a presigned URL."""
from .base import Delivery, Sink, StoredFile
from .inline import BASE64_HARD_LIMIT, InlineSink
from .store import StoreSink

__all__ = ["BASE64_HARD_LIMIT", "Delivery", "InlineSink", "Sink", "StoreSink", "StoredFile"]
