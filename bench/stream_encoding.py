"""Streamed encoding: time to the first bytes of /v1/audio/speech's answer (Worker.speech) with one encoder per
answer (now) versus each sentence encoded as its own file (before), and the encode cost alone."""
from __future__ import annotations

import logging
import statistics
import tempfile
import time
from unittest import mock

import numpy as np

from bench.common import save
from jobcore import audio
from jobcore.encoders import StreamEncoder
from jobcore.settings import Settings
from jobcore.worker import Worker

log = logging.getLogger(__name__)
ROUNDS = 4
TEXT = ("The lighthouse on Gull Point was built in 1874, after three ships were lost on the reef in a single "
        "winter. For the next ninety years a keeper climbed its 112 steps every evening to light the lamp. "
        "The last keeper, a woman named Ada Pearce, kept a logbook from 1951 to 1963. "
        "Her entries are short and practical.")
COLUMNS = ("variant", "median ms", "ratio to the one encoder")


class PerSentence:
    """The encoder before: every sentence its own mp3 or Ogg file (headers and padding repeated)."""

    def __init__(self, fmt: str, sample_rate: int):
        self.fmt, self.sample_rate = fmt, sample_rate

    def feed(self, samples: np.ndarray) -> bytes:
        return audio.encode(samples, self.sample_rate, self.fmt)

    def finish(self) -> bytes:
        return b""


def first_bytes(worker: Worker, fmt: str) -> float:
    """Seconds to the first bytes of a speech answer; the rest is read to the end (nothing left running that
    would slow the next measurement)."""
    started = time.perf_counter()
    chunks = worker.speech({"text": TEXT, "voice": "jm_kumo", "format": fmt}).chunks
    next(chunks)
    first = time.perf_counter() - started
    for _ in chunks:
        pass
    return first


def encode_only(fmt: str, encoder_class, pieces: list[np.ndarray]) -> float:
    started = time.perf_counter()
    encoder = encoder_class(fmt, 24_000)
    for piece in pieces:
        encoder.feed(piece)
    encoder.finish()
    return time.perf_counter() - started


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker.from_settings(Settings(voice_library_uri=tmp, warmup=False))
        first_bytes(worker, "mp3")                                  # warm the session and PyAV
        firsts: dict[str, list[float]] = {}
        for _ in range(ROUNDS):
            for fmt in ("mp3", "opus"):
                for name, encoder_class in (("one_encoder", StreamEncoder), ("per_sentence_before", PerSentence)):
                    with mock.patch("jobcore.synthesis.StreamEncoder", encoder_class):
                        firsts.setdefault(f"{fmt}_{name}", []).append(first_bytes(worker, fmt))
        rng = np.random.default_rng(0)
        pieces = [(0.1 * rng.standard_normal(int(24_000 * s))).astype(np.float32) for s in (2.5, 1.5, 3.0, 2.0, 1.0)]
        encode: dict[str, list[float]] = {}
        for _ in range(5):
            for fmt in ("mp3", "opus"):
                for name, encoder_class in (("one_encoder", StreamEncoder), ("per_sentence_before", PerSentence)):
                    encode.setdefault(f"{fmt}_{name}", []).append(encode_only(fmt, encoder_class, pieces))

    def med(values: list[float]) -> float:
        return round(statistics.median(values) * 1e3, 1)

    median = {f"first_bytes_{k}": med(v) for k, v in firsts.items()}
    median |= {f"encode_10s_{k}": med(v) for k, v in encode.items()}
    ratio = {k: round(v / median[k.replace("per_sentence_before", "one_encoder")], 3) for k, v in median.items()}
    result = {"benchmark": "stream_encoding", "median_ms": median, "ratio_to_one_encoder": ratio, "rounds": ROUNDS,
              "chars": len(TEXT),
              "notes": "first_bytes = Worker.speech (the /v1/audio/speech body) until its first chunk of bytes, "
                       "4 sentences, Kokoro jm_kumo; the two encoders alternate in each round (same process, "
                       "same warm session). per_sentence_before encodes each sentence as its own file (the code "
                       "before issue 23); one_encoder is jobcore.encoders.StreamEncoder. encode_10s = encoding "
                       "10 s of audio given as 5 pieces, nothing else."}
    save("stream_encoding", result)
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(run())
