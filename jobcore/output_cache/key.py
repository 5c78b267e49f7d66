"""The cache key of a plan: a hash of everything that decides the output bytes; and which plans may use it."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict

import numpy as np
from pydantic import BaseModel

from backends import Backend
from backends.base import Embedding

KEY_VERSION = 2     # bump when rendering changes what the same inputs produce


class EmbeddingDigests:
    """A digest of each voice's embedding arrays, kept per voice while the library hands out the same object."""

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Embedding, str]] = OrderedDict()
        self._lock = threading.Lock()

    def digest(self, voice_id: str, embedding: Embedding) -> str:
        with self._lock:
            entry = self._entries.get(voice_id)
            if entry is not None and entry[0] is embedding:
                self._entries.move_to_end(voice_id)
                return entry[1]
        value = digest_embedding(embedding)
        with self._lock:
            self._entries[voice_id] = (embedding, value)
            self._entries.move_to_end(voice_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value


def digest_embedding(embedding: Embedding) -> str:
    h = hashlib.sha256()
    for name in sorted(embedding):
        array = np.ascontiguousarray(embedding[name])
        h.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        h.update(array.tobytes())
    return h.hexdigest()


def cacheable(plan, backend: Backend) -> bool:
    """Only a plan whose audio cannot vary: a deterministic backend, or every part with a fixed seed."""
    return backend.capabilities.deterministic or all(part.seed is not None for part in plan.parts)


def canonical(value, digests: EmbeddingDigests):
    """A JSON-able picture of `value` that loses nothing: dataclasses field by field (every field, so a field added
    to the plan enters the key by itself), pydantic models as dumped, embeddings (dicts of arrays) by digest."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"@": type(value).__name__,
                **{f.name: canonical(getattr(value, f.name), digests) for f in dataclasses.fields(value)}}
    if isinstance(value, BaseModel):
        return {"@": type(value).__name__, **value.model_dump(mode="json")}
    if isinstance(value, dict):
        if value and all(isinstance(v, np.ndarray) for v in value.values()):
            return {"@embedding": digests.digest(f"@{id(value)}", value)}
        return {str(k): canonical(v, digests) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v, digests) for v in value]
    if isinstance(value, np.ndarray):
        return {"@array": digest_embedding({"a": value})}
    if isinstance(value, float):
        return repr(value)              # exact: 0.5 and 0.50000001 differ
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise TypeError(f"the output cache key cannot describe a {type(value).__name__}")


def output_key(plan, backend: Backend, pause_s: float, digests: EmbeddingDigests) -> str:
    """The whole plan (every field of it and of its parts: sentences spoken and written, requested speed and
    stretch, timestamps, captions, format, rate, seeds, params, voices by embedding digest, ...), the backend and
    its revision, and the sentence pause: the same key means the same audio and the same result description."""
    described = {"v": KEY_VERSION, "backend": backend.name, "revision": backend.revision, "pause_s": repr(pause_s),
                 "plan": canonical(plan, digests)}
    return hashlib.sha256(json.dumps(described, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
