"""Checks that a multi-sentence answer is one continuous stream: libsndfile and FFmpeg (PyAV) both decode its
full length, and it carries one stream header (not one per sentence)."""
from __future__ import annotations

import io

import av
import soundfile as sf

TOLERANCE_S = 0.05
HEADERS = {"mp3": (b"Xing", b"Info"), "opus": (b"OpusHead",), "wav": (b"RIFF",), "flac": (b"fLaC",)}


def durations(data: bytes) -> dict[str, float]:
    """Seconds of audio as libsndfile (soundfile) and FFmpeg (PyAV) decode it; libsndfile reads no AAC."""
    out = {}
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32")
        out["libsndfile"] = len(samples) / rate
    except sf.LibsndfileError:
        out["libsndfile"] = None
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(audio=0))
    out["pyav"] = sum(f.samples for f in frames) / frames[0].sample_rate
    return out


def headers(data: bytes, fmt: str) -> int:
    """How many stream headers `data` holds (Xing/Info frames in mp3, OpusHead packets, RIFF, fLaC)."""
    return sum(data.count(tag) for tag in HEADERS.get(fmt, ()))


def assert_one_stream(data: bytes, fmt: str, seconds: float, streamed: bool = True) -> None:
    """`data` decodes to `seconds` (±50 ms) with both decoders (PyAV only for aac) and holds one header.
    A streamed mp3 holds none: no frame count is known when its first bytes leave."""
    got = durations(data)
    if fmt != "aac":
        assert got["libsndfile"] is not None, f"libsndfile cannot read the {fmt}"
    for decoder, value in got.items():
        if value is not None:
            assert abs(value - seconds) <= TOLERANCE_S, f"{fmt}: {decoder} decodes {value:.3f} s of {seconds:.3f} s"
    expected = {"mp3": 0 if streamed else 1, "aac": 0}.get(fmt, 1)
    assert headers(data, fmt) == expected, f"{fmt}: {headers(data, fmt)} stream headers"
