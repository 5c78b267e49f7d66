"""Text to audio pieces: normalize, split into sentences within the backend's limit, synthesize, time them."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from backends.base import Backend, Embedding

from .audio import loud_span
from common.errors import InvalidInput
from .text import chunk_text, normalize, split_sentences


def prepare_text(text: str, max_chars: int, language: str = "en") -> list[str]:
    """Sentences (long ones split further), each at most `max_chars` long; English is normalized for speech."""
    spoken = normalize(text) if language.lower().startswith("en") else " ".join(text.split())
    chunks = [c for sentence in split_sentences(spoken) for c in chunk_text(sentence, max_chars)
              if any(ch.isalnum() for ch in c)]
    if not chunks:
        raise InvalidInput("the text has nothing to speak", hint="send words, not only punctuation or spaces")
    return chunks


@dataclass(frozen=True)
class Part:
    """One voice's stretch of the output: its sentences and how to speak them."""

    sentences: list[str]
    voice_id: str
    embedding: Embedding
    speed: float = 1.0
    seed: int | None = None
    params: BaseModel | None = None


@dataclass(frozen=True)
class Piece:
    """Audio for one sentence, preceded by `lead` samples of silence (the pause before it)."""

    audio: np.ndarray
    sample_rate: int
    lead: int
    text: str
    part: int
    words: tuple[dict, ...] | None = None   # {word, start_s, end_s} from the piece's start (lead included)


def render(backend: Backend, parts: list[Part], pause_s: float, gap_s: float) -> Iterator[Piece]:
    """Synthesize sentence by sentence; pauses join sentences, longer gaps join parts (dialog turns)."""
    first = True
    for index, part in enumerate(parts):
        spoken = backend.synthesize_many(part.sentences, part.embedding, speed=part.speed, seed=part.seed,
                                         params=part.params)
        for number, (sentence, chunks) in enumerate(zip(part.sentences, spoken)):
            audio, spans = [], []
            rate = backend.capabilities.sample_rate
            for chunk in chunks:
                rate = chunk.sample_rate
                start, end = loud_span(chunk.audio, sample_rate=rate)
                if end > start:
                    audio.append(chunk.audio[start:end])
                    spans.append((chunk, start))
            if not audio:
                continue
            silence = 0.0 if first else (gap_s if number == 0 else pause_s)
            lead = int(silence * rate)
            body = audio[0] if len(audio) == 1 else np.concatenate(
                [x for a in audio for x in (a, np.zeros(int(pause_s * rate), np.float32))][:-1])
            words = piece_words(spans, [len(a) for a in audio], lead, int(pause_s * rate), rate)
            yield Piece(np.concatenate([np.zeros(lead, np.float32), body]), rate, lead, sentence, index, words)
            first = False


def piece_words(spans: list, lengths: list[int], lead: int, pause: int, rate: int) -> tuple[dict, ...] | None:
    """The chunks' word timings moved onto the piece: past its lead silence and the pauses between chunks,
    minus what trimming cut from each chunk's start, and kept inside each chunk's trimmed audio."""
    if any(chunk.words is None for chunk, _ in spans):
        return None
    words, offset = [], lead
    for (chunk, cut), length in zip(spans, lengths):
        for w in chunk.words:
            start = min(max(w.start_s * chunk.sample_rate - cut, 0), length)
            end = min(max(w.end_s * chunk.sample_rate - cut, start), length)
            words.append({"word": w.word, "start_s": round((offset + start) / rate, 3),
                          "end_s": round((offset + end) / rate, 3)})
        offset += length + pause
    return tuple(words)


def word_timeline(pieces: list[Piece]) -> list[dict] | None:
    """Every word's start and end in seconds on the joined audio; None when a piece has no word timings."""
    if any(piece.words is None for piece in pieces):
        return None
    out, offset = [], 0.0
    for piece in pieces:
        out.extend({**w, "start_s": round(offset + w["start_s"], 3), "end_s": round(offset + w["end_s"], 3)}
                   for w in piece.words)
        offset += len(piece.audio) / piece.sample_rate
    return out


def timeline(pieces: list[Piece]) -> list[dict]:
    """Start and end of each sentence in seconds, on the joined audio."""
    out, offset = [], 0
    for piece in pieces:
        start = offset + piece.lead
        offset += len(piece.audio)
        out.append({"text": piece.text, "start_s": round(start / piece.sample_rate, 3),
                    "end_s": round(offset / piece.sample_rate, 3), "part": piece.part})
    return out


def captions(sentences: list[dict], kind: str) -> str:
    """SubRip or WebVTT captions, one cue per sentence (or per word, given word timings with a "word" key)."""
    def stamp(seconds: float, sep: str) -> str:
        ms = int(round(seconds * 1000))
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"

    sep = "," if kind == "srt" else "."
    cues = [f"{stamp(s['start_s'], sep)} --> {stamp(s['end_s'], sep)}\n{s.get('text') or s['word']}"
            for s in sentences]
    if kind == "srt":
        return "\n\n".join(f"{i}\n{cue}" for i, cue in enumerate(cues, 1)) + "\n"
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"
