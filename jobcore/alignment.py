"""Word timings for backends that give none: whisper's word timestamps matched to the known text."""
from __future__ import annotations

import difflib
import logging
import re

import numpy as np

from .audio import resample

log = logging.getLogger(__name__)
_WORD = re.compile(r"[\w'’.-]*\w[\w'’]*")


def _key(word: str) -> str:
    return re.sub(r"[^\w]", "", word.lower())


def text_words(text: str) -> list[str]:
    return _WORD.findall(text)


def align_words(audio: np.ndarray, sample_rate: int, text: str, offset_s: float = 0.0) -> tuple[dict, ...]:
    """Each word of `text` with its start and end in `audio` (plus `offset_s`).

    Whisper (faster-whisper, word_timestamps) hears the audio; its words are matched to the text's words by
    sequence alignment, and words it missed or misheard get times shared out between their matched neighbours."""
    from .transcribe import whisper_model

    segments, _ = whisper_model().transcribe(resample(audio, sample_rate, 16_000), language="en", beam_size=1,
                                             word_timestamps=True, condition_on_previous_text=False)
    heard = [w for s in segments for w in (s.words or [])]
    words = text_words(text)
    starts: list[float | None] = [None] * len(words)
    ends: list[float | None] = [None] * len(words)
    matcher = difflib.SequenceMatcher(a=[_key(w) for w in words], b=[_key(w.word) for w in heard], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            starts[block.a + k], ends[block.a + k] = heard[block.b + k].start, heard[block.b + k].end
    total = len(audio) / sample_rate
    _fill(starts, ends, total)                      # every start and end is a float from here on
    return tuple({"word": w, "start_s": round(offset_s + (s or 0.0), 3), "end_s": round(offset_s + (e or 0.0), 3)}
                 for w, s, e in zip(words, starts, ends))


def _fill(starts: list, ends: list, total: float) -> None:
    """Unmatched runs of words share the time between the matched words around them, evenly."""
    i = 0
    while i < len(starts):
        if starts[i] is not None:
            i += 1
            continue
        j = i
        while j < len(starts) and starts[j] is None:
            j += 1
        lo = ends[i - 1] if i > 0 else 0.0
        hi = starts[j] if j < len(starts) else total
        step = max(hi - lo, 0.0) / (j - i)
        for k in range(i, j):
            starts[k], ends[k] = lo + step * (k - i), lo + step * (k - i + 1)
        i = j
