"""A Store on a local directory: atomic writes (temp file + rename), ETags from content hashes."""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

from common.errors import InvalidInput, StorageUnavailable

from .store import AlreadyExists, Blob, Changed, NotFound


def _etag(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


_SWAP = threading.Lock()   # compare-and-swap is atomic between threads of one process (one worker per directory)


class LocalDirStore:
    """Objects as files under `root`; keys never escape it."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create the voice library directory {self.root}: {exc.strerror}") from exc

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            raise InvalidInput(f"invalid storage key {key!r}")
        return self.root.joinpath(*parts)

    def read(self, key: str) -> Blob:
        try:
            data = self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound(key) from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key}: {exc.strerror}") from exc
        return Blob(data, _etag(data))

    def read_if_changed(self, key: str, etag: str) -> Blob | None:
        blob = self.read(key)
        return None if blob.etag == etag else blob

    def write(self, key: str, data: bytes, content_type: str = "application/octet-stream",
              if_absent: bool = False, filename: str | None = None, if_match: str | None = None) -> str:
        if if_match is not None:
            with _SWAP:
                self._expect(key, if_match)
                return self.write(key, data, content_type, if_absent, filename)
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                if if_absent:
                    try:
                        os.link(tmp, path)  # atomic create-if-absent
                    except FileExistsError:
                        raise AlreadyExists(key) from None
                else:
                    os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write {key}: {exc.strerror}") from exc
        return _etag(data)

    def _expect(self, key: str, etag: str) -> None:
        try:
            if self.read(key).etag != etag:
                raise Changed(key)
        except NotFound:
            raise Changed(key) from None

    def delete(self, key: str, if_match: str | None = None) -> None:
        if if_match is not None:
            with _SWAP:
                self._expect(key, if_match)
                return self.delete(key)
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
            for parent in path.parents:  # tidy empty directories up to the root
                if parent == self.root or not parent.is_dir() or any(parent.iterdir()):
                    break
                parent.rmdir()
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete {key}: {exc.strerror}") from exc

    def list(self, prefix: str) -> list[str]:
        base = self.root
        keys = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                key = Path(dirpath, name).relative_to(base).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def presign(self, key: str, expires_s: int) -> str | None:
        return None
