"""Text to audio pieces: normalize, split into sentences within the backend's limit, synthesize, time them."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from backends.base import AudioChunk, Backend, Embedding
from common.errors import InvalidInput, TextTooLong

from .audio import loud_span

if TYPE_CHECKING:
    from .context import Cancellation
from .text import chunk_text, normalize, split_sentences
from .text_languages import normalize_language

# Words a backend spells letter by letter ("XQZV" is "ex cue zed vee"): short capital runs and any vowel-less run.
_SPELLED = re.compile(r"\b(?:[A-Z]{2,4}|(?i:[b-df-hj-np-tv-xz]{2,}))\b")
SPELLED_LETTER = 3     # characters of speech one spelled letter makes, on average (measured: "XQZV" 2.7x of prose)


def spoken_size(text: str) -> int:
    """How much speech `text` makes, in characters of ordinary prose: its length, with each letter of a spelled
    word counted SPELLED_LETTER times (acronym storms make ~2.7x the audio per character of prose)."""
    return len(text) + (SPELLED_LETTER - 1) * sum(len(m) for m in _SPELLED.findall(text))


def prepare_text(text: str, max_chars: int, language: str = "en", max_spoken_chars: int | None = None) -> list[str]:
    """Sentences (long ones split further), each at most `max_chars` long, normalized for speech in `language`."""
    return [spoken for spoken, _ in prepare_sentences(text, max_chars, language, max_spoken_chars)]


def prepare_sentences(text: str, max_chars: int, language: str = "en",
                      max_spoken_chars: int | None = None) -> list[tuple[str, str]]:
    """(spoken, written) pairs: each chunk the backend speaks, and the text as the user wrote it for that chunk.

    The written text is split into sentences first and each is normalized on its own, so captions and
    timings show "$12.50" where the backend says "twelve dollars and fifty cents". A sentence split into
    several chunks shares its written words among them (see _share_words).
    Normalization can grow a text many times over (20,000 digits become ~195,000 spoken characters), so the
    job's limit (`max_spoken_chars`, MAX_TEXT_CHARS) is checked again on the spoken text: its real size."""
    english = language.lower().startswith("en")
    pairs: list[tuple[str, str]] = []
    spoken_chars = 0
    for written in split_sentences(text):
        spoken = normalize(written) if english else normalize_language(written, language)
        spoken_chars += spoken_size(spoken)
        if max_spoken_chars is not None and spoken_chars > max_spoken_chars:
            raise TextTooLong(f"the text grew from {len(text)} to at least {spoken_chars} spoken characters; "
                              f"the limit is {max_spoken_chars}",
                              hint="numbers, URLs, symbols and spelled-out letters (acronyms) are spoken as words: "
                                   "send less text per job, or raise MAX_TEXT_CHARS")
        chunks = [c for sentence in split_sentences(spoken) for c in chunk_text(sentence, max_chars)
                  if any(ch.isalnum() for ch in c)]
        pairs.extend(zip(chunks, _share_words(written, chunks, english)))
    if not pairs:
        raise InvalidInput("the text has nothing to speak", hint="send words, not only punctuation or spaces")
    return pairs


def _share_words(written: str, chunks: list[str], english: bool) -> list[str]:
    """Give each chunk the written words it speaks: each written word weighs what it says (e.g. "$1,250,000"
    eight words) and goes to the chunk where the middle of its spoken words falls."""
    if len(chunks) <= 1:
        return [written] * len(chunks)
    words = written.split()
    weights = [max(1, len(normalize(w).split())) if english else 1 for w in words]
    ends, total = [], 0
    for chunk in chunks:
        total += len(chunk.split())
        ends.append(total)
    shown: list[list[str]] = [[] for _ in chunks]
    scale, spoken_so_far = total / max(1, sum(weights)), 0.0
    for word, weight in zip(words, weights):
        middle = (spoken_so_far + weight / 2) * scale
        spoken_so_far += weight
        shown[next((i for i, end in enumerate(ends) if middle <= end), len(chunks) - 1)].append(word)
    return [" ".join(group) or chunk for group, chunk in zip(shown, chunks)]


@dataclass(frozen=True)
class Part:
    """One voice's stretch of the output: its sentences and how to speak them."""

    sentences: list[str]
    voice_id: str
    embedding: Embedding
    speed: float = 1.0
    seed: int | None = None
    params: BaseModel | None = None
    stretch: float = 1.0            # time-stretch factor on top of `speed` (speeds the backend cannot render)
    written: list[str] | None = None   # each sentence as the user wrote it (captions, timings); None = as spoken
    language: str = "en"            # what it is spoken in, as the backend spells it (jobcore.languages)


@dataclass(frozen=True)
class Piece:
    """Audio for one sentence, preceded by `lead` samples of silence (the pause before it)."""

    audio: np.ndarray
    sample_rate: int
    lead: int
    text: str
    part: int
    words: tuple[dict, ...] | None = None   # {word, start_s, end_s} from the piece's start (lead included)
    spoken: str = ""                        # what the backend was given (`text` is the sentence as written)


# per part, per sentence: the chunks a backend made for it (a batch synthesizes its items' sentences together)
Spoken = list[list[list[AudioChunk]]]


def render(backend: Backend, parts: list[Part], pause_s: float, gap_s: float,
           made: Spoken | None = None, cancellation: Cancellation | None = None) -> Iterator[Piece]:
    """Synthesize sentence by sentence; pauses join sentences, longer gaps join parts (dialog turns).
    `made`: the parts' sentences synthesized beforehand, used instead of calling the backend.
    `cancellation`: checked before each sentence is taken from the backend (JobCancelled ends the job there);
    the backend's generator is closed on the way out, so work it queued ahead stops too."""
    first = True
    for index, part in enumerate(parts):
        if cancellation is not None:
            cancellation.check()
        spoken = made[index] if made is not None else backend.synthesize_many(
            part.sentences, part.embedding, speed=part.speed, seed=part.seed, params=part.params)
        try:
            for number, (sentence, chunks) in enumerate(zip(part.sentences, spoken)):
                yield _piece(backend, part, index, number, sentence, chunks, first, pause_s, gap_s)
                first = False
                if cancellation is not None:
                    cancellation.check()
        finally:
            close = getattr(spoken, "close", None)
            if close is not None:
                close()


def _piece(backend: Backend, part: Part, index: int, number: int, sentence: str, chunks, first: bool,
           pause_s: float, gap_s: float) -> Piece:
    """One sentence's chunks, trimmed and joined behind the pause before them."""
    audio, spans = [], []
    rate = backend.capabilities.sample_rate
    for chunk in chunks:
        rate = chunk.sample_rate
        start, end = loud_span(chunk.audio, sample_rate=rate)
        if end > start:
            audio.append(chunk.audio[start:end])
            spans.append((chunk, start))
    shown = part.written[number] if part.written else sentence
    if not audio:                   # COMPLETED means speech: a sentence is never dropped silently
        raise InvalidInput(f"the {backend.name} backend produced no speech for {shown[:100]!r}",
                           hint=f"this backend speaks {', '.join(backend.capabilities.languages)}; "
                                "send text in a language it speaks (see info: capabilities.languages)")
    silence = 0.0 if first else (gap_s if number == 0 else pause_s)
    lead = int(silence * rate)
    body = audio[0] if len(audio) == 1 else np.concatenate(
        [x for a in audio for x in (a, np.zeros(int(pause_s * rate), np.float32))][:-1])
    words = piece_words(spans, [len(a) for a in audio], lead, int(pause_s * rate), rate)
    return Piece(np.concatenate([np.zeros(lead, np.float32), body]), rate, lead, shown, index, words, sentence)


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
    out: list[dict] = []
    offset = 0.0
    for piece in pieces:
        out.extend({**w, "start_s": round(offset + w["start_s"], 3), "end_s": round(offset + w["end_s"], 3)}
                   for w in piece.words or ())
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
