"""Streamed encoding (jobcore.audio.StreamEncoder): fed sentence by sentence, every format decodes whole."""
from __future__ import annotations

import io

import av
import numpy as np
import pytest

from jobcore import audio

RATE = 24_000


def tone(seconds: float, hz: float = 220.0) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * hz * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["wav", "flac", "aac"])
def test_pieces_fed_one_by_one_decode_to_the_whole_length(fmt):
    encoder = audio.StreamEncoder(fmt, RATE)
    pieces = [tone(1.3), tone(0.7, 330), tone(2.1, 440)]
    data = b"".join([*(encoder.feed(p) for p in pieces), encoder.finish()])
    if fmt == "aac":
        with av.open(io.BytesIO(data)) as container:
            frames = list(container.decode(audio=0))
        samples, rate = sum(f.samples for f in frames), frames[0].sample_rate
    else:
        decoded, rate = audio.decode(data)
        samples = len(decoded)
    assert rate == RATE
    assert abs(samples - sum(map(len, pieces))) <= (0.1 * RATE if fmt == "aac" else 0)   # aac: encoder delay, padding


def test_wav_stream_header_declares_unknown_length():
    encoder = audio.StreamEncoder("wav", RATE)
    data = encoder.feed(tone(0.5))
    assert data[:4] == b"RIFF" and data[4:8] == b"\xff\xff\xff\xff" and data[40:44] == b"\xff\xff\xff\xff"
    assert encoder.feed(tone(0.5))[:4] != b"RIFF"          # the header comes once


def test_aac_whole_file_encode_keeps_the_tone():
    data = audio.encode(tone(2.0), RATE, "aac")
    with av.open(io.BytesIO(data)) as container:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    spectrum = np.abs(np.fft.rfft(decoded[RATE // 2: RATE // 2 + RATE]))
    assert abs(np.argmax(spectrum) - 220) <= 1       # 1 s window: bin = Hz


def test_aac_refuses_rates_it_cannot_write():
    with pytest.raises(Exception) as info:
        audio.StreamEncoder("aac", 23_000)
    assert getattr(info.value, "code", None) == "unsupported_format"
