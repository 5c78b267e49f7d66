"""The sink interface and the choice between sinks that a job's `output` field makes."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from common.errors import InvalidInput, OutputTooLarge
from storage import Store


class Sink(Protocol):
    """Takes a finished file and returns the result fields that point at it."""

    def deliver(self, data: bytes, name: str, content_type: str, job_id: str) -> dict:
        """Hand `data` over; the returned fields go into the job result. Raises JobError on failure."""
        ...

    def link(self, store: Store, key: str) -> dict | None:
        """The result fields for an object already in `store` without copying it (a presigned URL where this
        sink's URLs point into that same store), or None: then the object is read and delivered."""
        ...


@dataclass(frozen=True)
class StoredFile:
    """A finished file already in storage (a cached output): where it is, what it is, and how to read it."""

    store: Store
    key: str
    size: int
    name: str                               # its name in the job's outputs, e.g. speech.mp3
    content_type: str
    read: Callable[[], bytes | None]        # its bytes, or None if it is gone


def base64_length(size: int) -> int:
    return (size + 2) // 3 * 4


class Delivery:
    """`output`: "base64" inline, "url" through storage, "auto" inline up to `auto_url_bytes` of base64, else URL."""

    def __init__(self, inline: Sink, url: Sink | None, auto_url_bytes: int):
        """`url` is None where no storage can serve URLs (a directory library)."""
        self.inline, self.url, self.auto_url_bytes = inline, url, auto_url_bytes

    def to(self, url: Sink) -> Delivery:
        """The same choice with URLs going to `url` (a job's own bucket)."""
        return Delivery(self.inline, url, self.auto_url_bytes)

    def deliver(self, data: bytes, name: str, content_type: str, output: str, job_id: str) -> dict:
        if not self._wants_url(len(data), output):
            return self.inline.deliver(data, name, content_type, job_id)
        return self._url_sink(output).deliver(data, name, content_type, job_id)

    def deliver_stored(self, file: StoredFile, output: str, job_id: str) -> dict | None:
        """Deliver a file already in storage: a URL presigns it where it is when URLs go to that same store,
        else it is read and delivered. None if it could not be read (gone since found)."""
        if self._wants_url(file.size, output):
            linked = self._url_sink(output).link(file.store, file.key)
            if linked is not None:
                return linked
        data = file.read()
        if data is None:
            return None
        return self.deliver(data, file.name, file.content_type, output, job_id)

    def _wants_url(self, size: int, output: str) -> bool:
        return output == "url" or (output == "auto" and base64_length(size) > self.auto_url_bytes)

    def _url_sink(self, output: str) -> Sink:
        if self.url is None:
            error = InvalidInput if output == "url" else OutputTooLarge
            raise error("URL delivery needs S3 storage and none is configured",
                        hint='set OUTPUT_BUCKET or BUCKET_ENDPOINT_URL/BUCKET_ACCESS_KEY_ID/BUCKET_SECRET_ACCESS_KEY, '
                             'pass s3Config with the job, or use "output": "base64"')
        return self.url
