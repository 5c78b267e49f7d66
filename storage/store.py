"""The small object-store interface (voices, job outputs and the output cache are written against it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Blob:
    """An object's bytes and the version tag (ETag) they were read at."""

    data: bytes
    etag: str


class NotFound(KeyError):
    """No object at that key."""


class AlreadyExists(Exception):
    """A conditional write (`if_absent=True`) found an object already there."""


class Changed(Exception):
    """A compare-and-swap (`if_match=etag`) found another version of the object, or none."""


class Store(Protocol):
    """Keys are '/'-separated relative paths; a store maps them under its own root or prefix.

    Stores raise NotFound / AlreadyExists as above and common.errors.StorageUnavailable when the
    backing storage cannot be reached; nothing else.
    """

    uri: str

    def read(self, key: str) -> Blob: ...

    def read_if_changed(self, key: str, etag: str) -> Blob | None:
        """The object if its ETag differs from `etag`, else None (a conditional GET)."""
        ...

    def write(self, key: str, data: bytes, content_type: str = "application/octet-stream",
              if_absent: bool = False, filename: str | None = None, if_match: str | None = None) -> str:
        """Store `data` at `key` and return its ETag; with if_absent, fail (AlreadyExists) if the key exists;
        with if_match, replace only the version with that ETag (else Changed)."""
        ...

    def delete(self, key: str, if_match: str | None = None) -> None:
        """Remove `key` (a missing key is no error); with if_match, only the version with that ETag (else Changed).
        S3 servers that ignore If-Match on DELETE get a read-compare-delete: a window of one round trip."""
        ...

    def list(self, prefix: str) -> list[str]: ...

    def presign(self, key: str, expires_s: int) -> str | None:
        """A URL anyone can GET for `expires_s` seconds, or None where the store has no URLs."""
        ...

