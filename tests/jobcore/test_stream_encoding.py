"""Streamed encoding (jobcore.encoders.StreamEncoder): one encoder per answer, fed sentence by sentence, decodes
whole with libsndfile and FFmpeg, with one stream header."""
from __future__ import annotations

import io

import av
import numpy as np
import pytest

from jobcore import audio
from jobcore.encoders import StreamEncoder
from tests.support.one_stream import assert_one_stream, durations, headers

RATE = 24_000


def tone(seconds: float, hz: float = 220.0) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * hz * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def sentences() -> list[np.ndarray]:
    """Three 'sentences', the later ones behind a 0.2 s pause (as the synthesis joins them)."""
    pause = np.zeros(int(0.2 * RATE), np.float32)
    return [tone(1.3), np.concatenate([pause, tone(0.7, 330)]), np.concatenate([pause, tone(2.1, 440)])]


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "wav", "flac", "pcm"])
def test_pieces_fed_one_by_one_are_one_stream_of_the_whole_length(fmt):
    encoder = StreamEncoder(fmt, RATE)
    pieces = sentences()
    out = [encoder.feed(p) for p in pieces] + [encoder.finish()]
    seconds = sum(map(len, pieces)) / RATE
    if fmt == "pcm":
        assert len(b"".join(out)) == 2 * sum(map(len, pieces))
        return
    assert_one_stream(b"".join(out), fmt, seconds)
    if fmt != "flac":                                   # every other format sends the first sentence at once
        assert len(out[0]) > 0.5 * len(b"".join(out)) * len(pieces[0]) / sum(map(len, pieces))


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac"])
def test_sentence_timings_hold_after_the_first_pause(fmt):
    """Decoders of a stream of unknown length play the encoder's lead-in first; it is taken out of the first
    pause, so the third sentence's tone starts where the timeline says (within 30 ms)."""
    encoder = StreamEncoder(fmt, RATE)
    pieces = sentences()
    data = b"".join([*(encoder.feed(p) for p in pieces), encoder.finish()])
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(audio=0))
    decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    rate = frames[0].sample_rate
    start = (len(pieces[0]) + len(pieces[1]) + int(0.2 * RATE)) / RATE
    window = decoded[int((start - 0.1) * rate): int((start + 0.1) * rate)]
    onset = np.flatnonzero(np.abs(window) > 0.05)[0] / rate + start - 0.1
    assert abs(onset - start) < 0.03, f"the third sentence starts at {onset:.3f} s, not {start:.3f} s"


def test_whole_file_mp3_has_one_info_frame():
    data = audio.encode(np.concatenate(sentences()), RATE, "mp3")
    assert headers(data, "mp3") == 1
    assert_one_stream(data, "mp3", sum(map(len, sentences())) / RATE, streamed=False)


def test_wav_stream_header_declares_unknown_length():
    encoder = StreamEncoder("wav", RATE)
    data = encoder.feed(tone(0.5))
    assert data[:4] == b"RIFF" and data[4:8] == b"\xff\xff\xff\xff" and data[40:44] == b"\xff\xff\xff\xff"
    assert encoder.feed(tone(0.5))[:4] != b"RIFF"          # the header comes once


def test_aac_whole_file_encode_keeps_the_tone():
    data = audio.encode(tone(2.0), RATE, "aac")
    with av.open(io.BytesIO(data)) as container:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    spectrum = np.abs(np.fft.rfft(decoded[RATE // 2: RATE // 2 + RATE]))
    assert abs(np.argmax(spectrum) - 220) <= 1       # 1 s window: bin = Hz
    assert abs(durations(data)["pyav"] - 2.0) < 0.1


def test_aac_refuses_rates_it_cannot_write():
    with pytest.raises(Exception) as info:
        StreamEncoder("aac", 23_000)
    assert getattr(info.value, "code", None) == "unsupported_format"


@pytest.mark.parametrize("rate", [8000, 16_000, 44_100, 48_000])
def test_mp3_and_opus_stream_at_other_rates(rate):
    pieces = [np.zeros(int(0.3 * rate), np.float32), (0.2 * np.sin(np.arange(rate) / 7)).astype(np.float32)]
    for fmt in ("mp3", "opus"):
        if fmt == "opus" and rate == 44_100:
            continue
        encoder = StreamEncoder(fmt, rate)
        data = b"".join([*(encoder.feed(p) for p in pieces), encoder.finish()])
        assert_one_stream(data, fmt, 1.3)
