"""The worker: built once from settings, it runs one job input at a time and returns the result or error."""
from __future__ import annotations

import base64
import hashlib
import logging
import platform
import time
from collections.abc import Callable, Iterator
from importlib import metadata

import numpy as np

from pydantic import ValidationError

from backends import Backend, load_backend
from voice_library import ByteLRU, VoiceLibrary, VoiceMeta, open_store
from voice_library.library import check_voice_id, slugify

from . import audio
from .errors import (CloningUnsupported, InternalError, InvalidInput, JobError, OutputTooLarge, TextTooLong,
                     VoiceExists, VoiceNotFound)
from .fetch import fetch_audio
from .openai_compat import unwrap_openai
from .pipeline import Part, captions, prepare_text, render, timeline
from .reference import REFERENCE_RATE, decode_base64_audio, prepare_reference, to_flac
from .schema import (InfoRequest, SynthesizeRequest, VoicesCreateRequest, VoicesDeleteRequest, VoicesGetRequest,
                     VoicesListRequest, describe_validation_error, parse_request)
from .settings import Settings

log = logging.getLogger(__name__)
BASE64_HARD_LIMIT = 15 * 1024 * 1024   # RunPod fails results near 20 MB; stay well below


class Worker:
    def __init__(self, settings: Settings, backend: Backend, library: VoiceLibrary):
        self.settings = settings
        self.backend = backend
        self.library = library

    @classmethod
    def from_settings(cls, settings: Settings, backend: Backend | None = None) -> Worker:
        """Load the backend (unless given), open the library, seed the backend's stock voices, warm up."""
        started = time.perf_counter()
        backend = backend or load_backend(settings.backend, settings.model_dir, settings.threads, settings.device)
        store = open_store(settings.voice_library_uri, endpoint_url=settings.s3_endpoint_url,
                           access_key_id=settings.s3_access_key_id,
                           secret_access_key=settings.s3_secret_access_key, region=settings.s3_region,
                           connect_timeout=settings.s3_connect_timeout_s, read_timeout=settings.s3_read_timeout_s,
                           max_attempts=settings.s3_max_attempts)
        library = VoiceLibrary(store, ByteLRU(settings.cache_bytes), settings.cache_ttl_s, settings.create_lock_ttl_s)
        worker = cls(settings, backend, library)
        worker.seed_stock_voices()
        if settings.warmup:
            backend.warmup()
        log.info("worker ready: backend=%s revision=%s library=%s in %.2fs", backend.name, backend.revision,
                 store.uri, time.perf_counter() - started)
        return worker

    def seed_stock_voices(self) -> None:
        for stock in self.backend.stock_voices():
            meta = VoiceMeta(id=stock.id, name=stock.name, language=stock.language, gender=stock.gender,
                             description=stock.description, tags=list(stock.tags), source="stock")
            if self.library.add_stock(meta, self.backend.embedding_key, stock.embedding):
                log.info("seeded stock voice %s", stock.id)

    # -- entry point ----------------------------------------------------------------------------
    def handle(self, job_input, job_id: str | None = None, progress: Callable[[dict], None] | None = None) -> dict:
        """Run one job input. Never raises: failures come back as {"error": "<JSON string>"}."""
        try:
            request = parse_request(unwrap_openai(job_input))
            if isinstance(request, SynthesizeRequest):
                return self.synthesize(request, job_id or "local", progress)
            if isinstance(request, VoicesListRequest):
                return self.voices_list()
            if isinstance(request, VoicesGetRequest):
                return self.voice_info(self.library.resolve(request.voice))
            if isinstance(request, VoicesCreateRequest):
                return self.voices_create(request)
            if isinstance(request, VoicesDeleteRequest):
                return {"deleted": self.library.delete(self.library.resolve(request.voice).id).id}
            if isinstance(request, InfoRequest):
                return self.info()
            raise InvalidInput("unhandled action")
        except JobError as exc:
            log.info("job %s failed: %s %s", job_id, exc.code, exc.message)
            return {"error": exc.to_job_error()}
        except Exception:
            log.exception("job %s crashed", job_id)
            return {"error": InternalError("the worker hit an unexpected error; it is logged",
                                           hint="retry; report it if it persists").to_job_error()}

    # -- actions --------------------------------------------------------------------------------
    def stream(self, job_input, job_id: str | None = None,
               progress: Callable[[dict], None] | None = None) -> Iterator[dict]:
        """Like handle(), but a `stream: true` synthesis yields one item per sentence, then a summary."""
        try:
            job_input = unwrap_openai(job_input)
            request = parse_request(job_input)
        except JobError as exc:
            yield {"error": exc.to_job_error()}
            return
        if not (isinstance(request, SynthesizeRequest) and request.stream):
            yield self.handle(job_input, job_id, progress)
            return
        try:
            yield from self._stream(request)
        except JobError as exc:
            log.info("stream %s failed: %s %s", job_id, exc.code, exc.message)
            yield {"error": exc.to_job_error()}
        except Exception:
            log.exception("stream %s crashed", job_id)
            yield {"error": InternalError("the worker hit an unexpected error; it is logged").to_job_error()}

    def _plan(self, req: SynthesizeRequest) -> tuple[list[Part], str, int]:
        """Check everything a synthesis needs before any audio is made: limits, format, params, voices."""
        if req.total_chars > self.settings.max_text_chars:
            raise TextTooLong(f"text is {req.total_chars} characters; the limit is {self.settings.max_text_chars}",
                              hint="split the text into several jobs, or raise MAX_TEXT_CHARS")
        fmt = (req.format or self.settings.default_format).lower()
        rate = req.sample_rate or self.backend.capabilities.sample_rate
        audio.check_format(fmt, rate)
        limit = self.backend.capabilities.max_chars
        if req.segments is None:
            if req.reference_audio is not None:
                voice, embedding = self._one_off_voice(req.reference_audio, req.reference_text)
            else:
                voice, embedding = self._voice(req.voice)
            return [Part(prepare_text(req.text, limit), voice.id, embedding, req.speed, req.seed,
                         self._params(req.params))], fmt, rate
        parts = []
        for segment in req.segments:
            voice, embedding = self._voice(segment.voice or req.voice)
            params = self._params(req.params if segment.params is None else segment.params)
            parts.append(Part(prepare_text(segment.text, limit), voice.id, embedding,
                              segment.speed or req.speed, req.seed, params))
        return parts, fmt, rate

    def synthesize(self, req: SynthesizeRequest, job_id: str, progress: Callable[[dict], None] | None = None) -> dict:
        t0 = time.perf_counter()
        parts, fmt, rate = self._plan(req)
        t1 = time.perf_counter()
        total = sum(len(p.sentences) for p in parts)
        pieces = []
        for piece in render(self.backend, parts, self.settings.sentence_pause_s, req.gap_s):
            pieces.append(piece)
            if progress is not None and total > 3:
                progress({"sentences_done": len(pieces), "sentences": total})
        native_rate = pieces[0].sample_rate if pieces else self.backend.capabilities.sample_rate
        samples = np.concatenate([p.audio for p in pieces]) if pieces else np.zeros(0, np.float32)
        t2 = time.perf_counter()
        samples = audio.resample(samples, native_rate, rate)
        data = audio.encode(samples, rate, fmt)
        t3 = time.perf_counter()
        sentences = timeline(pieces)
        result = {"format": fmt, "content_type": audio.content_type(fmt, rate), "sample_rate": rate,
                  "duration_s": round(len(samples) / rate, 3), "voice": parts[0].voice_id,
                  "backend": self.backend.name, "sentences": sentences}
        if req.segments is not None:
            result["segments"] = [
                {"index": i, "voice": part.voice_id,
                 "start_s": min(s["start_s"] for s in sentences if s["part"] == i),
                 "end_s": max(s["end_s"] for s in sentences if s["part"] == i)}
                for i, part in enumerate(parts) if any(s["part"] == i for s in sentences)]
        if req.captions:
            result["captions"] = captions(sentences, req.captions)
        result.update(self._deliver(data, fmt, rate, req.output, job_id))
        t4 = time.perf_counter()
        result["timings_ms"] = {k: round(v * 1e3, 1) for k, v in
                                {"voice": t1 - t0, "synth": t2 - t1, "encode": t3 - t2, "deliver": t4 - t3,
                                 "total": t4 - t0}.items()}
        return result

    def _stream(self, req: SynthesizeRequest) -> Iterator[dict]:
        t0 = time.perf_counter()
        parts, fmt, rate = self._plan(req)
        pieces, first_chunk_ms = [], None
        for index, piece in enumerate(render(self.backend, parts, self.settings.sentence_pause_s, req.gap_s)):
            samples = audio.resample(piece.audio, piece.sample_rate, rate)
            data = audio.encode(samples, rate, fmt)
            pieces.append(piece)
            if first_chunk_ms is None:
                first_chunk_ms = round((time.perf_counter() - t0) * 1e3, 1)
            yield {"chunk_index": index, "audio_base64": base64.b64encode(data).decode("ascii"), "format": fmt,
                   "sample_rate": rate, "duration_s": round(len(samples) / rate, 3), "text": piece.text,
                   "voice": parts[piece.part].voice_id}
        sentences = timeline(pieces)
        summary = {"done": True, "chunks": len(pieces), "format": fmt, "content_type": audio.content_type(fmt, rate),
                   "sample_rate": rate, "duration_s": sentences[-1]["end_s"] if sentences else 0.0,
                   "voice": parts[0].voice_id, "backend": self.backend.name, "sentences": sentences,
                   "timings_ms": {"first_chunk": first_chunk_ms, "total": round((time.perf_counter() - t0) * 1e3, 1)}}
        if req.captions:
            summary["captions"] = captions(sentences, req.captions)
        yield summary

    def _params(self, raw: dict):
        try:
            return self.backend.Params.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput(f"params: {describe_validation_error(exc)}",
                               hint=f"the {self.backend.name} backend takes: "
                                    f"{', '.join(self.backend.Params.model_fields) or 'no params'}") from None

    def _voice(self, ref: str | None):
        ref = ref or self.settings.default_voice or self.backend.default_voice
        if not ref:
            raise InvalidInput("no voice given and the backend has no default", hint="set voice")
        meta = self.library.resolve(ref)
        embedding = self.library.embedding(meta.id, self.backend.embedding_key)
        if embedding is None and self.backend.capabilities.cloning:
            embedding = self._embed_stored_voice(meta)
        if embedding is None:
            usable = [m.name for m, keys in self.library.list() if self.backend.embedding_key in keys]
            raise VoiceNotFound(f"voice {meta.name!r} has no embedding for the {self.backend.name} backend",
                                hint=f"voices usable here: {', '.join(usable) or 'none'}")
        return meta, embedding

    def _embed_stored_voice(self, meta: VoiceMeta):
        """First use of a voice on this backend revision: embed its clip once and share it through storage."""
        flac = self.library.reference(meta.id)
        if flac is None:
            return None
        samples, rate = audio.decode(flac)
        embedding = self.backend.embed(samples, rate, meta.transcript or self._transcript(samples, rate, None))
        self.library.put_embedding(meta.id, self.backend.embedding_key, embedding)
        log.info("computed and stored the %s embedding of voice %s", self.backend.embedding_key, meta.id)
        return embedding

    def _one_off_voice(self, clip_base64: str, transcript: str | None):
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

        return transcribe(samples, rate)

    def voices_create(self, req: VoicesCreateRequest) -> dict:
        t0 = time.perf_counter()
        voice_id = check_voice_id(req.id) if req.id else slugify(req.name)
        meta = VoiceMeta(id=voice_id, name=req.name, language=req.language, gender=req.gender,
                         description=req.description, tags=req.tags, transcript=req.transcript)
        for meta_other, _ in self.library.list():
            if meta_other.name.lower() == req.name.lower():
                raise VoiceExists(f"a voice named {req.name!r} already exists ({meta_other.id})")
        embeddings, reference = {}, None
        if req.blend is not None:
            parts = [self._voice(name) for name in req.blend]
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
        result = self._voice_dict(meta, sorted(embeddings))
        if not result["usable"]:
            result["note"] = (f"stored for cloning backends; the {self.backend.name} backend cannot clone, "
                              'so this voice is not usable here (blend stock voices, or "fit": true)')
        elif meta.source == "fit":
            result["note"] = (f"voice matching, not cloning: speaker similarity {meta.fit_similarity} "
                              "(the same speaker scores about 0.9)")
        return {"voice": result, "timings_ms": {"total": round((time.perf_counter() - t0) * 1e3, 1)}}

    def _deliver(self, data: bytes, fmt: str, rate: int, output: str, job_id: str) -> dict:
        b64_size = (len(data) + 2) // 3 * 4
        want_url = output == "url" or (output == "auto" and b64_size > self.settings.output_auto_url_bytes)
        if not want_url:
            if b64_size > BASE64_HARD_LIMIT:
                raise OutputTooLarge(f"the audio is {b64_size} bytes as base64, over the {BASE64_HARD_LIMIT} limit",
                                     hint='use "output": "url" with S3 storage, a shorter text or a smaller format')
            return {"audio_base64": base64.b64encode(data).decode("ascii")}
        key = f"outputs/{job_id}/speech.{audio.EXTENSIONS[fmt]}"
        store = self.library.store
        expiry = self.settings.output_url_expiry_s
        if store.presign(key, expiry) is None:   # a directory library has no URLs to hand out
            error = InvalidInput if output == "url" else OutputTooLarge
            raise error("URL delivery needs S3 storage and none is configured",
                        hint='set VOICE_LIBRARY_URI to s3://bucket/prefix, or use "output": "base64"')
        store.write(key, data, audio.content_type(fmt, rate), filename=key.rsplit("/", 1)[1])
        return {"audio_url": store.presign(key, expiry), "expires_at": int(time.time()) + expiry}

    def voices_list(self) -> dict:
        return {"voices": [self._voice_dict(meta, keys) for meta, keys in self.library.list()],
                "backend": self.backend.name}

    def voice_info(self, meta: VoiceMeta) -> dict:
        keys = [k for m, k in self.library.list() if m.id == meta.id]
        return {"voice": self._voice_dict(meta, keys[0] if keys else [])}

    def _voice_dict(self, meta: VoiceMeta, keys: list[str]) -> dict:
        usable = self.backend.embedding_key in keys or (self.backend.capabilities.cloning and bool(meta.reference_sha256))
        return {**meta.model_dump(), "embeddings": keys, "usable": usable}

    def info(self) -> dict:
        caps = self.backend.capabilities
        versions = {"python": platform.python_version(), **self.backend.versions()}
        for package in ("tts-worker", "runpod", "numpy", "pydantic", "soundfile"):
            try:
                versions[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                pass
        return {
            "backend": self.backend.name, "model": self.backend.model_name, "revision": self.backend.revision,
            "capabilities": {**caps.__dict__, "languages": list(caps.languages)},
            "params_schema": self.backend.Params.model_json_schema(),
            "default_voice": self.settings.default_voice or self.backend.default_voice,
            "voice_count": len(self.library.list()), "cache": self.library.cache.stats(),
            "formats": list(audio.FORMATS), "sample_rates": list(audio.SAMPLE_RATES),
            "limits": {"max_text_chars": self.settings.max_text_chars},
            "versions": versions,
        }
