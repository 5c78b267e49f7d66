"""Storage delivery: upload to outputs/<job_id>/<name> with its content type, answer a presigned GET URL."""
from __future__ import annotations

import time

from storage import Store


class StoreSink:
    """For stores that presign (S3); see `for_store`."""

    def __init__(self, store: Store, expiry_s: int, prefix: str = "outputs"):
        self.store, self.expiry_s, self.prefix = store, expiry_s, prefix

    @classmethod
    def for_store(cls, store: Store, expiry_s: int) -> StoreSink | None:
        """A sink over `store`, or None when the store has no URLs (a directory). Signing is local: no I/O."""
        return cls(store, expiry_s) if store.presign("outputs/probe", expiry_s) is not None else None

    def deliver(self, data: bytes, name: str, content_type: str, job_id: str) -> dict:
        key = f"{self.prefix}/{job_id}/{name}"
        result = self._url(key)               # signing is local; presign first, then upload
        self.store.write(key, data, content_type, filename=name)
        return result

    def link(self, store: Store, key: str) -> dict | None:
        """A presigned URL to an object already in this sink's store (a cached output): no upload. None when the
        object lives in another store (URLs go to a job's own bucket, the cache is in the library)."""
        return self._url(key) if store is self.store else None

    def _url(self, key: str) -> dict:
        return {"audio_url": self.store.presign(key, self.expiry_s), "expires_at": int(time.time()) + self.expiry_s}
