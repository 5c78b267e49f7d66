"""The output cache interface: look a key up, read a hit's bytes, put a fresh result."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from storage import Store


@dataclass(frozen=True)
class CachedOutput:
    """One cached result: where its audio lives in storage, and the result fields that describe it."""

    key: str
    object_key: str          # the audio object's key in the store (presignable as it is)
    size: int
    content_type: str
    description: dict
    written_at: float


class OutputCache(Protocol):
    """Lookups never raise (a fault is a miss); `put` raises common.errors.StorageUnavailable on a fault."""

    store: Store     # where the entries' objects live (a hit's URL is presigned there)

    def lookup(self, key: str) -> CachedOutput | None:
        """The live entry for `key`, or None (absent, expired, unreadable)."""
        ...

    def read(self, entry: CachedOutput) -> bytes | None:
        """A hit's audio bytes, or None if they are gone."""
        ...

    def put(self, key: str, data: bytes, extension: str, content_type: str, description: dict) -> CachedOutput:
        """Store a result; the entry is visible to lookups only once complete."""
        ...

    def stats(self) -> dict:
        """Counts since start: hits, misses, expired, writes, write_errors, read_errors, bytes_written, bytes_hit."""
        ...
