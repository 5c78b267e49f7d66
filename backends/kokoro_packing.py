"""Several sentences in one Kokoro call: phonemes packed up to the model's context, the audio cut back per sentence
at the graph's own per-phoneme durations (so each sentence keeps its own chunk, pause and word timings)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import AudioChunk, WordTiming
from .kokoro_timing import SAMPLES_PER_FRAME, Spoken, word_timings

SEPARATOR = " "
# A sentence is followed by another in the same call only after one of these: the model then ends it as a sentence
# (falling pitch, a breath of silence) just as it does alone. A heading without a full stop is spoken alone.
_ENDS = (".", "!", "?", "…")

#: phonemes, style-free: (phonemes) -> (audio, per-token frame counts including both pads)
Infer = Callable[[str], tuple[np.ndarray, np.ndarray | None]]


def token_count(phonemes: str, vocab: dict[str, int]) -> int:
    return sum(c in vocab for c in phonemes)


def groups(spoken: list[Spoken], vocab: dict[str, int], limit: int, parts: int = 1) -> list[list[int]]:
    """Consecutive sentences (their indices) packed into calls of at most `limit` tokens.

    `parts`: the calls are made at least this many (when there are enough sentences) and as even in size as
    the sentences allow, so that `parts` workers finish together. A sentence over the limit is a call alone
    (the caller splits it); so is any sentence after one that does not end like a sentence."""
    sizes = [token_count(s.phonemes, vocab) for s in spoken]
    if not sizes:
        return []
    ends = [s.phonemes.rstrip().endswith(_ENDS) for s in spoken]
    fullest = _greedy(sizes, ends, limit, float(limit))
    if parts <= 1:
        return fullest
    total = sum(sizes) + len(sizes)
    calls = max(parts, len(fullest))
    calls += -calls % parts
    for _ in range(3):   # more calls when the sentences' sizes and endings do not divide evenly into these
        out = _greedy(sizes, ends, limit, total / calls)
        if len(out) <= calls:
            return out
        calls += parts
    return fullest


def _greedy(sizes: list[int], ends: list[bool], limit: int, target: float) -> list[list[int]]:
    """Sentences in order into calls of about `target` tokens (never over `limit`)."""
    out: list[list[int]] = []
    current: list[int] = []
    used = 0
    for index, size in enumerate(sizes):
        fits = used + 1 + size <= limit
        # close the call when adding this sentence would take it further past the target than it stays below
        balanced = used + (size + 1) / 2 <= target
        if current and ends[current[-1]] and fits and balanced:
            current.append(index)
            used += 1 + size
        else:
            if current:
                out.append(current)
            current, used = [index], size
    if current:
        out.append(current)
    return out


def synthesize_packed(spoken: list[Spoken], infer: Infer, vocab: dict[str, int], sample_rate: int,
                      timed_words: bool = True) -> list[list[AudioChunk]]:
    """One call for all of `spoken` (which fits the context), cut back into one chunk per sentence.

    The cut between two sentences falls in the middle of the separating space's frames; the first sentence keeps
    the leading pad's frames and the last the trailing pad's, as a sentence made alone does. Word timings are
    the joined call's, moved to each sentence's start."""
    phonemes = SEPARATOR.join(s.phonemes for s in spoken)
    audio, durations = infer(phonemes)
    if durations is None:
        raise ValueError("packing needs the graph's durations")
    frames = np.asarray(durations, dtype=np.float64).ravel()
    ends = np.cumsum(frames)                      # frame at which token i ends; token 0 is the leading pad
    fed = np.array([c in vocab for c in phonemes], dtype=bool)
    token = np.cumsum(fed) - fed + 1              # each character's token index (pads counted)
    offsets, cursor = [], 0
    for s in spoken:
        offsets.append(cursor)
        cursor += len(s.phonemes) + len(SEPARATOR)
    cuts = [0]
    for offset in offsets[1:]:
        space = offset - len(SEPARATOR)           # the separator's character
        t = int(token[space])
        middle = (ends[t - 1] + ends[t]) / 2 if fed[space] else ends[t - 1]
        cuts.append(min(len(audio), int(round(middle * SAMPLES_PER_FRAME))))
    cuts.append(len(audio))
    out: list[list[AudioChunk]] = []
    for index, (s, offset) in enumerate(zip(spoken, offsets)):
        start, end = cuts[index], cuts[index + 1]
        piece = np.ascontiguousarray(audio[start:end], dtype=np.float32)
        if not piece.size or not token_count(s.phonemes, vocab):
            out.append([])
            continue
        timings = None
        if timed_words:
            shift = start / sample_rate
            joined = word_timings(phonemes, [(w, a + offset, b + offset) for w, a, b in s.words], vocab, frames,
                                  sample_rate)
            timings = tuple(WordTiming(w.word, round(max(0.0, w.start_s - shift), 3),
                                       round(max(0.0, w.end_s - shift), 3)) for w in joined)
        out.append([AudioChunk(piece, sample_rate, timings)])
    return out
