"""Inline delivery: the audio as base64 in the job result, refused above what RunPod can carry."""
from __future__ import annotations

import base64

from common.errors import OutputTooLarge
from storage import Store

from .base import base64_length

BASE64_HARD_LIMIT = 15 * 1024 * 1024   # RunPod fails results near 20 MB; stay well below


class InlineSink:
    def __init__(self, limit: int = BASE64_HARD_LIMIT):
        self.limit = limit

    def deliver(self, data: bytes, name: str, content_type: str, job_id: str) -> dict:
        size = base64_length(len(data))
        if size > self.limit:
            raise OutputTooLarge(f"the audio is {size} bytes as base64, over the {self.limit} limit",
                                 hint='use "output": "url" with S3 storage, a shorter text or a smaller format')
        return {"audio_base64": base64.b64encode(data).decode("ascii")}

    def link(self, store: Store, key: str) -> None:
        """Inline results always carry the bytes."""
        return None
