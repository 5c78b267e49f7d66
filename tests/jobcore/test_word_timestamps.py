"""Word timings through the pipeline: shifted by trimming, pauses and lead silence; whisper for other backends."""
from __future__ import annotations

import numpy as np

from backends.base import AudioChunk, Backend, Capabilities, WordTiming
from jobcore.pipeline import Part, render, word_timeline
from tests.support.speech import decode_result

RATE = 1000


class Scripted(Backend):
    """Each sentence: 0.5 s of silence, 1 s of tone holding two words, 0.5 s of silence."""

    name = "scripted"
    capabilities = Capabilities(cloning=False, streaming=True, speed=True, languages=("en",), max_chars=100,
                                needs_transcript=False, sample_rate=RATE)
    revision = "scripted"

    @classmethod
    def load(cls, model_dir=None, threads=0, device="auto"):
        return cls()

    def synthesize(self, text, voice, *, speed=1.0, seed=None, params=None):
        audio = np.concatenate([np.zeros(500), 0.5 * np.ones(1000), np.zeros(500)]).astype(np.float32)
        a, b = text.split()[:2]
        yield AudioChunk(audio, RATE, (WordTiming(a, 0.5, 1.0), WordTiming(b, 1.0, 1.5)))


def test_words_move_with_trimming_and_pauses():
    pieces = list(render(Scripted(), [Part(["one two", "three four"], "v", {})], pause_s=0.25, gap_s=0.4))
    words = word_timeline(pieces)
    # trimming keeps 20 ms of pad: the first word starts 0.02 s in; the second sentence follows a 0.25 s pause
    first_len = 0.02 + 1.0 + 0.02
    assert [w["word"] for w in words] == ["one", "two", "three", "four"]
    assert np.allclose([w["start_s"] for w in words],
                       [0.02, 0.52, first_len + 0.25 + 0.02, first_len + 0.25 + 0.52], atol=1e-3)
    total = sum(len(p.audio) for p in pieces) / RATE
    assert words[-1]["end_s"] <= total


def test_backends_without_durations_get_whisper_aligned_words(hibari_worker):
    text = "The orange cat slept on the warm windowsill. Later it chased a small gray mouse."
    result = hibari_worker.handle({"text": text, "format": "wav", "timestamps": "word"})
    samples, rate = decode_result(result)
    words = result["words"]
    assert [w["word"] for w in words] == text.replace(".", "").split()
    assert all(0 <= w["start_s"] <= w["end_s"] <= len(samples) / rate + 1e-3 for w in words)
    assert all(a["start_s"] <= b["start_s"] for a, b in zip(words, words[1:]))
    second = next(s for s in result["sentences"] if s["text"].startswith("Later"))
    assert abs(words[8]["start_s"] - second["start_s"]) < 0.3     # "Later" starts its sentence
