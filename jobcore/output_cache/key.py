"""The cache key of a plan: a hash of everything that decides the output bytes; and which plans may use it."""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

import numpy as np

from backends import Backend
from backends.base import Embedding

KEY_VERSION = 1     # bump when rendering changes what the same inputs produce


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


def output_key(plan, backend: Backend, pause_s: float, digests: EmbeddingDigests) -> str:
    """Backend and revision, voices (ids and embedding digests), prepared sentences, speed, seed, params,
    format, rate, captions, dialog gap and sentence pause: the same key means the same result."""
    described = {
        "v": KEY_VERSION, "backend": backend.name, "revision": backend.revision, "format": plan.format,
        "sample_rate": plan.sample_rate, "captions": plan.captions, "dialog": plan.dialog, "gap_s": plan.gap_s,
        "pause_s": pause_s,
        "parts": [{"voice": part.voice_id, "embedding": digests.digest(part.voice_id, part.embedding),
                   "sentences": part.sentences, "speed": part.speed, "seed": part.seed,
                   "params": part.params.model_dump(mode="json") if part.params is not None else None}
                  for part in plan.parts],
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
