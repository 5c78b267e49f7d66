"""Voices as data in a Store: metadata, reference clip and per-backend embeddings, behind a byte-bounded cache."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors.numpy import load as load_safetensors, save as save_safetensors

from common.errors import InvalidInput, StorageUnavailable, VoiceExists, VoiceNotFound
from storage import AlreadyExists, Changed, NotFound, Store

from .cache import ByteLRU

log = logging.getLogger(__name__)

VOICE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ROOT = "voices/"
LOCK = ".creating"          # the create/delete lock object of a voice (name kept from before)


class DamagedVoice(StorageUnavailable):
    """A voice.json that cannot be read as a voice (written by hand, an old version or a bug)."""


class VoiceMeta(BaseModel):
    """voice.json: what a voice is. Embeddings and the clip live beside it as their own objects."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    id: str
    name: str
    language: str = "en"
    gender: str | None = None
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    source: Literal["stock", "clip", "blend", "fit"] = "clip"
    transcript: str | None = None
    blend: dict[str, float] | None = None
    fit_similarity: float | None = None
    reference_sha256: str | None = None
    reference_duration_s: float | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def voice_key(voice_id: str, name: str) -> str:
    return f"{ROOT}{voice_id}/{name}"


def embedding_name(backend_key: str) -> str:
    return f"embeddings/{backend_key}.safetensors"


def dump_embedding(embedding: dict[str, np.ndarray], backend_key: str) -> bytes:
    return save_safetensors({k: np.ascontiguousarray(v) for k, v in embedding.items()},
                            metadata={"backend": backend_key})


def load_embedding(data: bytes) -> dict[str, np.ndarray]:
    """safetensors only: no pickle is ever loaded from storage."""
    try:
        return load_safetensors(data)
    except Exception as exc:  # safetensors raises its own error types for corrupt data
        raise StorageUnavailable("a stored voice embedding is corrupt", hint="delete and recreate the voice") from exc


def available_hint(voices: list[tuple[VoiceMeta, list[str]]]) -> str:
    """The not-found hint: the library's voice names (the first 30)."""
    names = [meta.name for meta, _ in voices]
    shown = ", ".join(names[:30]) + (" ..." if len(names) > 30 else "")
    return f"available voices: {shown}" if names else "the voice library is empty"


class VoiceLibrary:
    """Reads go through the cache; an entry older than `ttl_s` is revalidated with a conditional GET."""

    def __init__(self, store: Store, cache: ByteLRU, ttl_s: float = 60.0, lock_ttl_s: float = 300.0):
        self.store = store
        self.cache = cache
        self.ttl_s = ttl_s
        self.lock_ttl_s = lock_ttl_s     # a create lock older than this is from a dead worker
        self.damaged: tuple[str, ...] = ()   # ids whose voice.json the last listing could not read (see info)

    # -- cached reads -------------------------------------------------------------------------
    def _cached(self, key: str, decode: Callable[[bytes], Any]) -> Any:
        entry = self.cache.get(key)
        if entry is not None:
            if time.monotonic() - entry.stored_at < self.ttl_s:
                return entry.value
            try:
                blob = self.store.read_if_changed(key, entry.etag)
            except NotFound:
                self.cache.discard(key)
                raise
            except StorageUnavailable:
                log.warning("storage unreachable; serving cached %s", key)
                return entry.value
            if blob is None:
                self.cache.touch(key)
                return entry.value
        else:
            blob = self.store.read(key)
        value = decode(blob.data)
        self.cache.put(key, value, blob.etag)
        return value

    # -- voices ---------------------------------------------------------------------------------
    def get(self, voice_id: str) -> VoiceMeta:
        meta = self._by_id(voice_id)
        if meta is None:
            try:
                hint = available_hint(self.list())
            except StorageUnavailable:
                hint = "the voice library is unreachable"
            raise VoiceNotFound(f"no voice with id {voice_id!r}", hint=hint)
        return meta

    def _by_id(self, voice_id: str) -> VoiceMeta | None:
        """A voice by id through the cache (no listing), or None."""
        if not VOICE_ID.match(voice_id):
            return None
        try:
            return self._cached(voice_key(voice_id, "voice.json"), _parse_meta)
        except DamagedVoice as exc:
            raise DamagedVoice(f"the stored voice.json of {voice_id!r} is damaged",
                               hint=f"delete it (voices.delete {voice_id!r}) and create it again") from exc
        except NotFound:
            return None

    def list(self) -> list[tuple[VoiceMeta, list[str]]]:
        """Every voice with the embedding keys stored for it, sorted by name. A damaged voice.json is skipped with
        a warning (and its id kept in `damaged`): one bad entry never hides the others."""
        embeddings: dict[str, list[str]] = {}
        ids = []
        for key in self.store.list(ROOT):
            parts = key[len(ROOT):].split("/")
            if len(parts) == 2 and parts[1] == "voice.json":
                ids.append(parts[0])
            elif len(parts) == 3 and parts[1] == "embeddings" and parts[2].endswith(".safetensors"):
                embeddings.setdefault(parts[0], []).append(parts[2].removesuffix(".safetensors"))
        voices, damaged = [], []
        for voice_id in ids:
            try:
                meta = self._by_id(voice_id)
            except DamagedVoice:
                log.warning("voice %s has a damaged voice.json; skipped (voices.delete removes it)", voice_id)
                damaged.append(voice_id)
                continue
            if meta is not None:          # else deleted between list and read
                voices.append((meta, sorted(embeddings.get(voice_id, []))))
        self.damaged = tuple(damaged)
        return sorted(voices, key=lambda v: v[0].name.lower())

    def resolve(self, ref: str) -> VoiceMeta:
        """A voice by id, or by case-insensitive name: by id (and the name's slug) through the cache, else one
        LIST of the library, whose names also make the not-found hint."""
        ref = ref.strip()
        slug = re.sub(r"[^a-z0-9]+", "-", ref.lower()).strip("-")
        damaged = None
        for candidate in dict.fromkeys(c for c in (ref, slug) if VOICE_ID.match(c)):   # cached, no listing
            try:
                meta = self._by_id(candidate)
            except DamagedVoice as exc:
                damaged = exc if candidate == ref else damaged
                continue
            if meta is not None and (candidate == ref or meta.name.lower() == ref.lower()):
                return meta
        wanted = ref.lower()
        voices = self.list()
        for meta, _ in voices:
            if meta.name.lower() == wanted or meta.id == wanted:
                return meta
        if damaged is not None:
            raise damaged
        raise VoiceNotFound(f"no voice named {ref!r}", hint=available_hint(voices))

    def embedding(self, voice_id: str, backend_key: str) -> dict[str, np.ndarray] | None:
        """The stored embedding of a voice for one backend revision, or None if there is none yet."""
        try:
            return self._cached(voice_key(voice_id, embedding_name(backend_key)), load_embedding)
        except NotFound:
            return None

    # -- writes ---------------------------------------------------------------------------------
    def put_embedding(self, voice_id: str, backend_key: str, embedding: dict[str, np.ndarray]) -> None:
        key = voice_key(voice_id, embedding_name(backend_key))
        data = dump_embedding(embedding, backend_key)
        etag = self.store.write(key, data, "application/octet-stream")
        self.cache.put(key, {k: np.asarray(v) for k, v in embedding.items()}, etag)

    def add_stock(self, meta: VoiceMeta, backend_key: str, embedding: dict[str, np.ndarray]) -> bool:
        """Write a stock voice if it is missing (embedding first, voice.json last). True if written."""
        if voice_key(meta.id, embedding_name(backend_key)) not in self.store.list(voice_key(meta.id, "")):
            self.put_embedding(meta.id, backend_key, embedding)
        try:
            self.store.write(voice_key(meta.id, "voice.json"), meta.model_dump_json(indent=1).encode(),
                             "application/json", if_absent=True)
        except AlreadyExists:
            return False
        return True


    def exists(self, voice_id: str) -> bool:
        try:
            self.store.read(voice_key(voice_id, "voice.json"))
        except NotFound:
            return False
        return True

    def create(self, meta: VoiceMeta, reference_flac: bytes | None,
               embeddings: dict[str, dict[str, np.ndarray]]) -> VoiceMeta:
        """Write a new voice so that it appears whole or not at all, and only once per id.

        A lock object (conditional write, a fresh token per request) makes creates and deletes of one id
        exclusive; a lock older than `lock_ttl_s` may be taken over (compare-and-swap on its ETag, so by one
        request only). The clip and the embeddings are written next, each only if absent and only while the
        lock is still ours; voice.json last (conditional too), after ownership is checked once more. So a
        request that was taken over can neither finish nor overwrite the objects of the one that took over;
        the lock is released by compare-and-delete. Leftovers of a failed earlier attempt are removed first.
        """
        check_voice_id(meta.id)
        if self.exists(meta.id):
            raise VoiceExists(f"a voice with id {meta.id!r} already exists", hint="pick another name or delete it first")
        lock = voice_key(meta.id, LOCK)
        owner = self._take_lock(lock, meta.id)
        try:
            for key in self.store.list(voice_key(meta.id, "")):
                if key != lock:
                    self.store.delete(key)          # orphans of an attempt that died half-way
            if reference_flac is not None:
                self._write_owned(lock, owner, voice_key(meta.id, "reference.flac"), reference_flac, "audio/flac")
            for backend_key, embedding in embeddings.items():
                self._write_owned(lock, owner, voice_key(meta.id, embedding_name(backend_key)),
                                  dump_embedding(embedding, backend_key), "application/octet-stream")
            self._check_owner(lock, owner, meta.id)
            try:
                self.store.write(voice_key(meta.id, "voice.json"), meta.model_dump_json(indent=1).encode(),
                                 "application/json", if_absent=True)
            except AlreadyExists:
                raise VoiceExists(f"a voice with id {meta.id!r} already exists") from None
        except VoiceExists:
            raise                                   # the objects belong to the request that won
        except BaseException:
            if self._owns(lock, owner):
                self._remove_quietly(meta.id, keep=lock)
            raise
        finally:
            self._release(lock, owner)
        self.cache.discard_prefix(voice_key(meta.id, ""))
        return meta

    def _take_lock(self, lock: str, voice_id: str) -> str:
        """Hold the create/delete lock of a voice; returns its ETag (our owner token)."""
        stamp = json.dumps({"at": time.time(), "token": uuid.uuid4().hex}).encode()
        busy = VoiceExists(f"voice {voice_id!r} is being created or deleted by another request",
                           hint="wait and list the voices, or pick another name")
        for _ in range(2):
            try:
                return self.store.write(lock, stamp, "application/json", if_absent=True)
            except AlreadyExists:
                pass
            try:
                held = self.store.read(lock)
            except NotFound:
                continue                            # released in between: try again
            try:
                held_since = float(json.loads(held.data).get("at", 0))
            except (ValueError, AttributeError, TypeError):
                held_since = 0.0
            if time.time() - held_since < self.lock_ttl_s:
                raise busy
            log.warning("taking over a stale lock of %s", voice_id)
            try:
                return self.store.write(lock, stamp, "application/json", if_match=held.etag)
            except Changed:
                raise busy from None                # another request took it over first
        raise busy

    def _owns(self, lock: str, owner: str) -> bool:
        try:
            return self.store.read(lock).etag == owner
        except NotFound:
            return False

    def _check_owner(self, lock: str, owner: str, voice_id: str) -> None:
        if not self._owns(lock, owner):
            raise VoiceExists(f"the create of {voice_id!r} took longer than {self.lock_ttl_s:g} s and was taken over "
                              "by another request", hint="list the voices: the other request's voice may exist")

    def _write_owned(self, lock: str, owner: str, key: str, data: bytes, content_type: str) -> None:
        """Write one object of a create only while the lock is ours, and never over another request's object."""
        voice_id = key[len(ROOT):].split("/")[0]
        self._check_owner(lock, owner, voice_id)
        try:
            self.store.write(key, data, content_type, if_absent=True)
        except AlreadyExists:
            self._check_owner(lock, owner, voice_id)
            raise StorageUnavailable(f"{key} appeared during the create of {voice_id!r}") from None

    def _remove_quietly(self, voice_id: str, keep: str | None = None) -> None:
        try:
            for key in self.store.list(voice_key(voice_id, "")):
                if key != keep:
                    self.store.delete(key)
        except StorageUnavailable:
            log.warning("could not clean up after a failed create of %s; the next attempt will", voice_id)

    def _release(self, lock: str, owner: str) -> None:
        try:
            self.store.delete(lock, if_match=owner)
        except Changed:
            log.warning("lock %s was taken over; left to its new owner", lock)
        except StorageUnavailable:
            log.warning("could not release %s; it expires after the lock TTL", lock)

    def delete(self, voice_id: str) -> VoiceMeta:
        """Under the voice's lock: remove voice.json first (the voice vanishes at once), then its other objects.
        A voice whose voice.json is damaged is removed too (by id)."""
        try:
            meta = self.get(voice_id)
        except DamagedVoice:
            meta = VoiceMeta(id=voice_id, name=voice_id)
            log.warning("deleting voice %s, whose voice.json is damaged", voice_id)
        lock = voice_key(voice_id, LOCK)
        owner = self._take_lock(lock, voice_id)
        try:
            self.store.delete(voice_key(voice_id, "voice.json"))
            for key in self.store.list(voice_key(voice_id, "")):
                if key != lock:
                    self.store.delete(key)
        finally:
            self._release(lock, owner)
            self.cache.discard_prefix(voice_key(voice_id, ""))
        return meta

    def reference(self, voice_id: str) -> bytes | None:
        try:
            return self._cached(voice_key(voice_id, "reference.flac"), bytes)
        except NotFound:
            return None


def _parse_meta(data: bytes) -> VoiceMeta:
    try:
        return VoiceMeta.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        raise DamagedVoice("a stored voice.json is not valid", hint="repair or delete that voice") from exc


def slugify(name: str) -> str:
    """A voice id from a name: lowercase ascii letters, digits and '-'."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    if not slug:
        raise InvalidInput(f"cannot make a voice id from the name {name[:80]!r}", hint="give an id, or a name with letters")
    return slug


def check_voice_id(voice_id: str) -> str:
    if not VOICE_ID.match(voice_id):
        raise InvalidInput(f"invalid voice id {voice_id[:80]!r}",
                           hint="ids are 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit")
    return voice_id
