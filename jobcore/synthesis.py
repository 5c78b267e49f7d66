"""Synthesis jobs: plan a request (limits, format, voices, params), render it, describe one rendered result."""
from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from pydantic import BaseModel, ValidationError

from backends import Backend, Embedding
from common.captions import captions
from common.errors import InvalidInput, TextTooLong
from common.formats import content_type
from voice_library import VoiceMeta

from . import audio, languages
from .alignment import align_words
from .context import JobContext
from .encoders import StreamEncoder
from .metrics import Metrics
from .pipeline import Part, Piece, Spoken, prepare_sentences, render, spoken_size, timeline, word_timeline
from .schema import SynthesizeRequest, describe_validation_error
from .settings import Settings
from .voices import Voices


@dataclass(frozen=True)
class Plan:
    """Everything a synthesis needs, checked before any audio is made."""

    parts: list[Part]
    format: str
    sample_rate: int
    captions: str | None = None
    dialog: bool = False
    gap_s: float = 0.4
    timestamps: str = "sentence"

    @property
    def sentence_count(self) -> int:
        return sum(len(p.sentences) for p in self.parts)

    @property
    def spoken_chars(self) -> int:
        """The speech this plan makes, in characters of prose (pipeline.spoken_size): what limits count."""
        return sum(spoken_size(s) for p in self.parts for s in p.sentences)


@dataclass(frozen=True)
class Speech:
    """A synthesis as raw output bytes made as `chunks` is read (the OpenAI speech route)."""

    format: str
    sample_rate: int
    chunks: Iterator[bytes]

    @property
    def content_type(self) -> str:
        return content_type(self.format, self.sample_rate)


@dataclass
class Rendered:
    """One synthesis, rendered: its pieces in order, and the result fields that describe them.

    The whole answer and the streamed summary are both `describe()` of a Rendered."""

    plan: Plan
    backend: str
    pieces: list[Piece] = field(default_factory=list)

    @cached_property
    def sentences(self) -> list[dict]:
        return timeline(self.pieces)

    @cached_property
    def words(self) -> list[dict] | None:
        return word_timeline(self.pieces) if self.plan.timestamps == "word" else None

    @property
    def native_rate(self) -> int:
        return self.pieces[0].sample_rate if self.pieces else self.plan.sample_rate

    def audio(self) -> np.ndarray:
        """The joined audio at the output sample rate."""
        joined = np.concatenate([p.audio for p in self.pieces]) if self.pieces else np.zeros(0, np.float32)
        return audio.resample(joined, self.native_rate, self.plan.sample_rate)

    def describe(self) -> dict:
        plan = self.plan
        samples = sum(len(p.audio) for p in self.pieces)
        result = {"format": plan.format, "content_type": content_type(plan.format, plan.sample_rate),
                  "sample_rate": plan.sample_rate, "duration_s": round(samples / self.native_rate, 3),
                  "voice": plan.parts[0].voice_id, "backend": self.backend, "sentences": self.sentences}
        if plan.dialog:
            result["segments"] = [
                {"index": i, "voice": part.voice_id,
                 "start_s": min(s["start_s"] for s in turn), "end_s": max(s["end_s"] for s in turn)}
                for i, part in enumerate(plan.parts)
                if (turn := [s for s in self.sentences if s["part"] == i])]
        if self.words is not None:
            result["words"] = self.words
        if plan.captions:
            result["captions"] = captions(self.words if self.words is not None else self.sentences, plan.captions)
        return result


class Synthesis:
    """Turns synthesize requests into plans and plans into audio, on one backend."""

    def __init__(self, settings: Settings, backend: Backend, voices: Voices, metrics: Metrics | None = None):
        self.settings, self.backend, self.voices = settings, backend, voices
        self.metrics = metrics or Metrics()

    def plan(self, req: SynthesizeRequest) -> Plan:
        """Check limits, format, speed and params, and resolve every voice, before any audio is made."""
        if req.total_chars > self.settings.max_text_chars:
            raise TextTooLong(f"text is {req.total_chars} characters; the limit is {self.settings.max_text_chars}",
                              hint="split the text into several jobs, or raise MAX_TEXT_CHARS")
        fmt = (req.format or self.settings.default_format).lower()
        rate = req.sample_rate or self.backend.capabilities.sample_rate
        audio.check_format(fmt, rate)
        budget = self.settings.max_text_chars      # checked again on the spoken text: the job's real size
        if req.segments is None:
            if req.reference_audio is not None:
                voice, embedding = self.voices.one_off(req.reference_audio, req.reference_text)
                language = req.language or asked(req.params)
            else:
                voice, embedding, language = self._voice(req.voice, req.text or "", req.language or asked(req.params))
            parts = [self._part(req.text or "", voice, embedding, req.speed, req.seed, req.params, budget, language)]
        else:
            parts = []
            for segment in req.segments:
                raw = req.params if segment.params is None else segment.params
                voice, embedding, language = self._voice(segment.voice or req.voice, segment.text,
                                                         segment.language or req.language or asked(raw))
                parts.append(self._part(segment.text, voice, embedding, segment.speed or req.speed, req.seed, raw,
                                        budget, language))
                budget -= sum(spoken_size(s) for s in parts[-1].sentences)
        return Plan(parts, fmt, rate, req.captions, dialog=req.segments is not None, gap_s=req.gap_s,
                    timestamps=req.timestamps)

    def _voice(self, ref: str | None, text: str, requested: str | None) -> tuple[VoiceMeta, Embedding, str | None]:
        """The voice asked for, and `requested`. With none asked (and no DEFAULT_VOICE): the language the text says
        by itself (Han only is Mandarin here: the Japanese reading is for a Japanese voice someone chose), and the
        backend's voice for it when it has one (Kokoro: language_voice), else its default voice."""
        voice, embedding = self.voices.resolve(ref)
        if ref or self.settings.default_voice:
            return voice, embedding, requested
        caps = self.backend.capabilities
        try:
            language = languages.choose(text, caps.languages, self.backend.name, requested=requested,
                                        voice_language=self.voices.language_of(voice), voice_chosen=False)
        except InvalidInput:
            return voice, embedding, requested       # _part reports it
        better = self.backend.language_voice(language)
        if better and better != voice.id:
            voice, embedding = self.voices.resolve(better)
        return voice, embedding, language

    def _part(self, text: str, voice: VoiceMeta, embedding, speed: float, seed: int | None, raw_params: dict,
              spoken_budget: int, language: str | None = None) -> Part:
        caps = self.backend.capabilities
        low, high = caps.speed_range if caps.speed else (1.0, 1.0)
        native = min(max(speed, low), high)          # the backend renders this; time-stretching does the rest
        params = self._params(raw_params)
        # the job's language (or params.language as sent), else the text's script and the voice's language
        language = languages.choose(text, caps.languages, self.backend.name, requested=language,
                                    voice_language=self.voices.language_of(voice))
        if "language" in type(params).model_fields:       # multilingual backends take it in their params
            params = params.model_copy(update={"language": language})
        spoken, written = zip(*prepare_sentences(text, caps.max_chars, language, max_spoken_chars=spoken_budget))
        return Part(list(spoken), voice.id, embedding, native, seed, params, stretch=speed / native,
                    written=list(written), language=language)

    def _params(self, raw: dict) -> BaseModel:
        """The backend's own params model, validated once here; backends receive it as it is."""
        try:
            return self.backend.Params.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput(f"params: {describe_validation_error(exc)}",
                               hint=f"the {self.backend.name} backend takes: "
                                    f"{', '.join(self.backend.Params.model_fields) or 'no params'}") from None

    def pieces(self, plan: Plan, made: Spoken | None = None, job: JobContext | None = None) -> Iterator[Piece]:
        """Rendered pieces, time-stretched where the backend cannot reach the speed; with word timestamps asked
        and none from the backend, aligned with whisper on the spoken text. `made`: see pipeline.render. Counts the
        audio seconds made and the seconds spent making them (the real-time factor is their ratio). The job's
        cancellation is checked between sentences."""
        cancellation = job.cancellation if job is not None else None
        pieces = render(self.backend, plan.parts, self.settings.sentence_pause_s, plan.gap_s, made, cancellation)
        while True:
            started = time.perf_counter()
            piece = next(pieces, None)
            if piece is None:
                return
            piece = self._finished(plan, piece)
            self.metrics.inc("synthesis_seconds", time.perf_counter() - started)
            self.metrics.inc("audio_seconds", len(piece.audio) / piece.sample_rate)
            yield piece

    def _finished(self, plan: Plan, piece: Piece) -> Piece:
        """A rendered piece time-stretched to the plan's speed and given word times, as asked."""
        factor = plan.parts[piece.part].stretch
        if factor != 1.0:                        # speech stretched, the pause before it kept
            spoken = audio.time_stretch(piece.audio[piece.lead:], piece.sample_rate, factor)
            piece = replace(piece, audio=np.concatenate([piece.audio[:piece.lead], spoken]),
                            words=stretched(piece.words, piece.lead / piece.sample_rate, factor))
        if plan.timestamps == "word" and piece.words is None:
            words = align_words(piece.audio[piece.lead:], piece.sample_rate, piece.spoken or piece.text,
                                piece.lead / piece.sample_rate)
            piece = replace(piece, words=words)
        return piece

    def render(self, plan: Plan, job: JobContext | None = None, made: Spoken | None = None) -> Rendered:
        """The whole synthesis; reports sentences done to the job's progress on texts of more than 3 sentences.
        `made`: the sentences synthesized beforehand (a batch's items), see pipeline.render."""
        rendered = Rendered(plan, self.backend.name)
        total = plan.sentence_count
        for piece in self.pieces(plan, made, job):
            rendered.pieces.append(piece)
            if job is not None and total > 3 and made is None:
                job.report({"sentences_done": len(rendered.pieces), "sentences": total})
        return rendered

    def encoded(self, plan: Plan, job: JobContext | None = None) -> Iterator[bytes]:
        """The output's bytes as they are made, never through base64: one encoder for the whole answer, fed a
        sentence at a time (flac whole at the end; see encoders.StreamEncoder)."""
        encoder = StreamEncoder(plan.format, plan.sample_rate)
        for piece in self.pieces(plan, job=job):
            data = encoder.feed(audio.resample(piece.audio, piece.sample_rate, plan.sample_rate))
            if data:
                yield data
        tail = encoder.finish()
        if tail:
            yield tail

    def stream(self, plan: Plan, job: JobContext | None = None) -> Iterator[dict]:
        """One item per sentence, then the rendered result's summary. The chunks are the successive bytes of one
        encoder: joined in order they are one file (one header). mp3, opus and aac end with one more chunk
        holding the encoder's last bytes (`text` empty, `duration_s` 0); flac comes whole in that last chunk."""
        t0 = time.perf_counter()
        rendered, first_chunk_ms = Rendered(plan, self.backend.name), None
        encoder = StreamEncoder(plan.format, plan.sample_rate)
        index = -1
        for index, piece in enumerate(self.pieces(plan, job=job)):
            samples = audio.resample(piece.audio, piece.sample_rate, plan.sample_rate)
            data = encoder.feed(samples)
            rendered.pieces.append(piece)
            if first_chunk_ms is None:
                first_chunk_ms = ms_since(t0)
            item = {"chunk_index": index, "audio_base64": base64.b64encode(data).decode("ascii"), "format": plan.format,
                    "sample_rate": plan.sample_rate, "duration_s": round(len(samples) / plan.sample_rate, 3),
                    "text": piece.text, "voice": plan.parts[piece.part].voice_id}
            if plan.timestamps == "word" and piece.words is not None:
                item["words"] = list(piece.words)        # from this chunk's start
            yield item
        tail = encoder.finish()
        if tail:
            yield {"chunk_index": index + 1, "audio_base64": base64.b64encode(tail).decode("ascii"),
                   "format": plan.format, "sample_rate": plan.sample_rate, "duration_s": 0.0, "text": ""}
            index += 1
        yield {"done": True, "chunks": index + 1, **rendered.describe(),
               "timings_ms": {"first_chunk": first_chunk_ms, "total": ms_since(t0)}}


def asked(params: dict) -> str | None:
    """params.language as the job sent it (multilingual backends' own field), when it is text."""
    value = params.get("language") if isinstance(params, dict) else None
    return value if isinstance(value, str) else None


def stretched(words: tuple[dict, ...] | None, lead_s: float, factor: float) -> tuple[dict, ...] | None:
    """Word times after the speech (not the lead silence before it) is played `factor` times faster."""
    if words is None:
        return None
    def at(t: float) -> float:
        return round(lead_s + (t - lead_s) / factor, 3)
    return tuple({**w, "start_s": at(w["start_s"]), "end_s": at(w["end_s"])} for w in words)


def ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1e3, 1)

