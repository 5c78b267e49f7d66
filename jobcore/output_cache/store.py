"""The output cache over the library's Store: outputs/cache/<key>.<ext> plus a JSON sidecar, TTL checked on read.

S3 lifecycle rules can also expire the objects (a rule on the `outputs/cache/` prefix); make it at least
OUTPUT_CACHE_TTL_S plus OUTPUT_URL_EXPIRY_S so a URL handed out from a hit stays valid."""
from __future__ import annotations

import json
import logging
import threading
import time

from common.errors import StorageUnavailable
from storage import NotFound, Store

from .base import CachedOutput

log = logging.getLogger(__name__)


class StoreOutputCache:
    def __init__(self, store: Store, ttl_s: float, prefix: str = "outputs/cache"):
        self.store, self.ttl_s, self.prefix = store, ttl_s, prefix
        self._counts = {"hits": 0, "misses": 0, "expired": 0, "writes": 0, "write_errors": 0, "read_errors": 0,
                        "bytes_written": 0, "bytes_hit": 0}
        self._lock = threading.Lock()

    def _count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def _sidecar(self, key: str) -> str:
        return f"{self.prefix}/{key}.json"

    def lookup(self, key: str) -> CachedOutput | None:
        try:
            meta = json.loads(self.store.read(self._sidecar(key)).data)
            entry = CachedOutput(key, meta["object"], int(meta["size"]), meta["content_type"], meta["description"],
                                 float(meta["written_at"]))
        except NotFound:
            self._count("misses")
            return None
        except StorageUnavailable as exc:
            log.warning("output cache unreadable, synthesizing instead: %s", exc.message)
            self._count("read_errors")
            return None
        except (ValueError, KeyError, TypeError):
            log.warning("output cache entry %s is malformed; ignoring it", key)
            self._count("misses")
            return None
        if time.time() - entry.written_at > self.ttl_s:
            self._count("expired")
            return None
        self._count("hits")
        self._count("bytes_hit", entry.size)
        return entry

    def read(self, entry: CachedOutput) -> bytes | None:
        try:
            return self.store.read(entry.object_key).data
        except NotFound:
            return None
        except StorageUnavailable as exc:
            log.warning("output cache object unreadable: %s", exc.message)
            self._count("read_errors")
            return None

    def put(self, key: str, data: bytes, extension: str, content_type: str, description: dict) -> CachedOutput:
        entry = CachedOutput(key, f"{self.prefix}/{key}.{extension}", len(data), content_type, description, time.time())
        try:
            self.store.write(entry.object_key, data, content_type, filename=f"speech.{extension}")
            self.store.write(self._sidecar(key), json.dumps(
                {"object": entry.object_key, "size": entry.size, "content_type": content_type,
                 "description": description, "written_at": entry.written_at}).encode(), "application/json")
        except StorageUnavailable:
            self._count("write_errors")
            raise
        self._count("writes")
        self._count("bytes_written", entry.size)
        return entry

    def stats(self) -> dict:
        with self._lock:
            return {**self._counts, "ttl_s": self.ttl_s}
