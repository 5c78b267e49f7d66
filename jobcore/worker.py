"""The worker: built once from settings, it runs one job input at a time and returns the result or error."""
from __future__ import annotations

import base64
import logging
import platform
import time
from collections.abc import Callable, Iterator
from importlib import metadata

import numpy as np

from pydantic import ValidationError

from backends import Backend, load_backend
from voice_library import ByteLRU, VoiceLibrary, open_store

from common.formats import FORMATS, content_type

from . import audio
from common.errors import InternalError, InvalidInput, JobError, OutputTooLarge, TextTooLong
from .openai_compat import unwrap_openai
from .pipeline import Part, captions, prepare_text, render, timeline
from .schema import (InfoRequest, SynthesizeRequest, VoicesCreateRequest, VoicesDeleteRequest, VoicesGetRequest,
                     VoicesListRequest, describe_validation_error, parse_request)
from .settings import Settings
from .voices import Voices

log = logging.getLogger(__name__)
BASE64_HARD_LIMIT = 15 * 1024 * 1024   # RunPod fails results near 20 MB; stay well below


class Worker:
    def __init__(self, settings: Settings, backend: Backend, library: VoiceLibrary):
        self.settings = settings
        self.backend = backend
        self.library = library
        self.voices = Voices(settings, backend, library)

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
        self.voices.seed_stock()

    # -- entry point ----------------------------------------------------------------------------
    def handle(self, job_input, job_id: str | None = None, progress: Callable[[dict], None] | None = None) -> dict:
        """Run one job input. Never raises: failures come back as {"error": "<JSON string>"}."""
        try:
            request = parse_request(unwrap_openai(job_input))
            if isinstance(request, SynthesizeRequest):
                return self.synthesize(request, job_id or "local", progress)
            if isinstance(request, VoicesListRequest):
                return self.voices.list()
            if isinstance(request, VoicesGetRequest):
                return self.voices.get(request.voice)
            if isinstance(request, VoicesCreateRequest):
                return self.voices.create(request)
            if isinstance(request, VoicesDeleteRequest):
                return self.voices.delete(request.voice)
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
                voice, embedding = self.voices.one_off(req.reference_audio, req.reference_text)
            else:
                voice, embedding = self.voices.resolve(req.voice)
            params = self._params(req.params)
            return [Part(prepare_text(req.text, limit, _language(params)), voice.id, embedding, req.speed, req.seed,
                         params)], fmt, rate
        parts = []
        for segment in req.segments:
            voice, embedding = self.voices.resolve(segment.voice or req.voice)
            params = self._params(req.params if segment.params is None else segment.params)
            parts.append(Part(prepare_text(segment.text, limit, _language(params)), voice.id, embedding,
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
        result = {"format": fmt, "content_type": content_type(fmt, rate), "sample_rate": rate,
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
        summary = {"done": True, "chunks": len(pieces), "format": fmt, "content_type": content_type(fmt, rate),
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

    def _deliver(self, data: bytes, fmt: str, rate: int, output: str, job_id: str) -> dict:
        b64_size = (len(data) + 2) // 3 * 4
        want_url = output == "url" or (output == "auto" and b64_size > self.settings.output_auto_url_bytes)
        if not want_url:
            if b64_size > BASE64_HARD_LIMIT:
                raise OutputTooLarge(f"the audio is {b64_size} bytes as base64, over the {BASE64_HARD_LIMIT} limit",
                                     hint='use "output": "url" with S3 storage, a shorter text or a smaller format')
            return {"audio_base64": base64.b64encode(data).decode("ascii")}
        key = f"outputs/{job_id}/speech.{FORMATS[fmt].extension}"
        store = self.library.store
        expiry = self.settings.output_url_expiry_s
        url = store.presign(key, expiry)        # signing is local; a directory library has no URLs
        if url is None:
            error = InvalidInput if output == "url" else OutputTooLarge
            raise error("URL delivery needs S3 storage and none is configured",
                        hint='set VOICE_LIBRARY_URI to s3://bucket/prefix, or use "output": "base64"')
        store.write(key, data, content_type(fmt, rate), filename=key.rsplit("/", 1)[1])
        return {"audio_url": url, "expires_at": int(time.time()) + expiry}

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
            "formats": list(FORMATS), "sample_rates": list(audio.SAMPLE_RATES),
            "limits": {"max_text_chars": self.settings.max_text_chars},
            "versions": versions,
        }


def _language(params) -> str:
    """Multilingual backends take the language in their params; English text is normalized for speech."""
    return str(getattr(params, "language", None) or "en")
