"""Voice actions of the worker: resolve a voice to this backend's embedding, create, list, get, delete."""
from __future__ import annotations

import hashlib
import logging
import time

from backends import Backend, Embedding
from voice_library import VoiceLibrary, VoiceMeta
from voice_library.library import check_voice_id, slugify

from . import audio
from common.errors import CloningUnsupported, InvalidInput, VoiceExists, VoiceNotFound
from .fetch import fetch_audio
from .reference import REFERENCE_RATE, decode_base64_audio, prepare_reference, to_flac
from .schema import VoicesCreateRequest
from .settings import Settings

log = logging.getLogger(__name__)


class Voices:
    def __init__(self, settings: Settings, backend: Backend, library: VoiceLibrary):
        self.settings = settings
        self.backend = backend
        self.library = library

    def seed_stock(self) -> None:
        """Write the backend's bundled voices into the library where they are missing."""
        for stock in self.backend.stock_voices():
            meta = VoiceMeta(id=stock.id, name=stock.name, language=stock.language, gender=stock.gender,
                             description=stock.description, tags=list(stock.tags), source="stock")
            if self.library.add_stock(meta, self.backend.embedding_key, stock.embedding):
                log.info("seeded stock voice %s", stock.id)

    def resolve(self, ref: str | None) -> tuple[VoiceMeta, Embedding]:
        """The voice and its embedding for this backend (computed and stored on first use by cloning backends)."""
        ref = ref or self.settings.default_voice or self.backend.default_voice
        if not ref:
            raise InvalidInput("no voice given and the backend has no default", hint="set voice")
        meta = self.library.resolve(ref)
        embedding = self.library.embedding(meta.id, self.backend.embedding_key)
        if embedding is None and self.backend.capabilities.cloning:
            embedding = self._embed_stored(meta)
        if embedding is None:
            usable = [m.name for m, keys in self.library.list() if self.backend.embedding_key in keys]
            raise VoiceNotFound(f"voice {meta.name!r} has no embedding for the {self.backend.name} backend",
                                hint=f"voices usable here: {', '.join(usable) or 'none'}")
        return meta, embedding

    def _embed_stored(self, meta: VoiceMeta) -> Embedding | None:
        """First use of a voice on this backend revision: embed its clip once and share it through storage."""
        flac = self.library.reference(meta.id)
        if flac is None:
            return None
        samples, rate = audio.decode(flac)
        embedding = self.backend.embed(samples, rate, meta.transcript or self._transcript(samples, rate, None))
        self.library.put_embedding(meta.id, self.backend.embedding_key, embedding)
        log.info("computed and stored the %s embedding of voice %s", self.backend.embedding_key, meta.id)
        return embedding

    def one_off(self, clip_base64: str, transcript: str | None) -> tuple[VoiceMeta, Embedding]:
        """A synthesize job's `reference_audio`: embedded for this job only, never stored."""
        if not self.backend.capabilities.cloning:
            raise CloningUnsupported(f"the {self.backend.name} backend cannot clone a voice from reference_audio",
                                     hint="use a stored voice or a blend; cloning needs a backend such as chatterbox")
        samples = prepare_reference(decode_base64_audio(clip_base64, self.settings.max_audio_bytes),
                                    self.settings.max_reference_s)
        embedding = self.backend.embed(samples, REFERENCE_RATE, self._transcript(samples, REFERENCE_RATE, transcript))
        return VoiceMeta(id="reference-audio", name="reference_audio", source="clip"), embedding

    def _transcript(self, samples, rate: int, given: str | None) -> str | None:
        if given or not self.backend.capabilities.needs_transcript:
            return given
        from .transcribe import transcribe

        return transcribe(samples, rate, self.settings.model_dir)

    def create(self, req: VoicesCreateRequest) -> dict:
        t0 = time.perf_counter()
        voice_id = check_voice_id(req.id) if req.id else slugify(req.name)
        meta = VoiceMeta(id=voice_id, name=req.name, language=req.language, gender=req.gender,
                         description=req.description, tags=req.tags, transcript=req.transcript)
        for meta_other, _ in self.library.list():
            if meta_other.name.lower() == req.name.lower():
                raise VoiceExists(f"a voice named {req.name!r} already exists ({meta_other.id})")
        embeddings, reference = {}, None
        if req.blend is not None:
            parts = [self.resolve(name) for name in req.blend]
            embeddings[self.backend.embedding_key] = self.backend.blend([e for _, e in parts], list(req.blend.values()))
            meta.source, meta.blend = "blend", {m.id: w for (m, _), w in zip(parts, req.blend.values())}
        else:
            raw = (decode_base64_audio(req.audio_base64, self.settings.max_audio_bytes) if req.audio_base64 is not None
                   else fetch_audio(req.audio_url, self.settings.max_audio_bytes, self.settings.url_timeout_s,
                                    self.settings.allow_private_urls))
            samples = prepare_reference(raw, self.settings.max_reference_s)
            reference = to_flac(samples)
            meta.reference_sha256 = hashlib.sha256(reference).hexdigest()
            meta.reference_duration_s = round(len(samples) / REFERENCE_RATE, 3)
            meta.transcript = self._transcript(samples, REFERENCE_RATE, req.transcript)
            if self.backend.capabilities.cloning:
                embeddings[self.backend.embedding_key] = self.backend.embed(samples, REFERENCE_RATE, meta.transcript)
            elif req.fit:
                embedding, report = self.backend.fit(samples, REFERENCE_RATE, req.fit_budget)
                embeddings[self.backend.embedding_key] = embedding
                meta.source, meta.fit_similarity, meta.blend = "fit", report["similarity"], report["weights"]
        self.library.create(meta, reference, embeddings)
        result = self.describe(meta, sorted(embeddings))
        if not result["usable"]:
            result["note"] = (f"stored for cloning backends; the {self.backend.name} backend cannot clone, "
                              'so this voice is not usable here (blend stock voices, or "fit": true)')
        elif meta.source == "fit":
            result["note"] = (f"voice matching, not cloning: speaker similarity {meta.fit_similarity} "
                              "(the same speaker scores about 0.9)")
        return {"voice": result, "timings_ms": {"total": round((time.perf_counter() - t0) * 1e3, 1)}}

    def list(self) -> dict:
        return {"voices": [self.describe(meta, keys) for meta, keys in self.library.list()],
                "backend": self.backend.name}

    def get(self, ref: str) -> dict:
        meta = self.library.resolve(ref)
        keys = [k for m, k in self.library.list() if m.id == meta.id]
        return {"voice": self.describe(meta, keys[0] if keys else [])}

    def describe(self, meta: VoiceMeta, keys: list[str]) -> dict:
        usable = self.backend.embedding_key in keys or (self.backend.capabilities.cloning and bool(meta.reference_sha256))
        return {**meta.model_dump(), "embeddings": keys, "usable": usable}

    def delete(self, ref: str) -> dict:
        return {"deleted": self.library.delete(self.library.resolve(ref).id).id}
