"""A generated corpus of hostile clips: each is refused with audio_invalid, with bounded memory."""
import base64
import io
import struct
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from common.errors import AudioInvalid
from jobcore.reference import prepare_reference
from tests.support.jobs import error_of


def encoded(samples, rate=24_000, fmt="WAV", subtype=None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def speechlike(seconds=3.0, rate=24_000):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def hour_of_silence_flac() -> bytes:
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", 8000, 1, format="FLAC") as f:
        block = np.zeros(8000 * 60, np.int16)
        for _ in range(60):
            f.write(block)
    return buf.getvalue()


def wav_claiming_gigabytes() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 24_000, 48_000, 2, 16)
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", 0xFFFFFFD0) + bytes(4000))


CORPUS = {
    "zero_length": lambda: b"",
    "truncated_wav": lambda: encoded(speechlike())[:60],
    "truncated_flac": lambda: encoded(speechlike(), fmt="FLAC")[:200],
    "nan_samples": lambda: encoded(np.full(24_000 * 2, np.nan, np.float32), subtype="FLOAT"),
    "inf_samples": lambda: encoded(np.full(24_000 * 2, np.inf, np.float32), subtype="FLOAT"),
    "hour_of_silence": hour_of_silence_flac,
    "eight_channels": lambda: encoded(np.tile(speechlike()[:, None], (1, 8))),
    "192_khz": lambda: encoded(speechlike(rate=192_000), rate=192_000),
    "garbage_with_mp3_header": lambda: b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(range(256)) * 40,
    "wav_header_claims_gigabytes": wav_claiming_gigabytes,
    "text_not_audio": lambda: b"hello, this is not audio at all" * 100,
    "too_short": lambda: encoded(speechlike(0.3)),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_clip_is_audio_invalid_with_bounded_memory(name):
    """No wall-clock bound here: tracemalloc slows every allocation (speed is measured in bench/)."""
    data = CORPUS[name]()
    tracemalloc.start()
    try:
        with pytest.raises(AudioInvalid):
            prepare_reference(data, max_seconds=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, peak


@pytest.mark.parametrize("name", ["hour_of_silence", "wav_header_claims_gigabytes", "eight_channels"])
def test_hostile_clip_through_the_worker(kokoro_worker, name, tmp_path):
    job = {"action": "voices.create", "name": f"Hostile {name}", "fit": False,
           "audio_base64": base64.b64encode(CORPUS[name]()).decode()}
    assert error_of(kokoro_worker.handle(job))["code"] == "audio_invalid"
    assert f"hostile-{name}".replace("_", "-") not in {v["id"] for v in kokoro_worker.handle({"action": "voices.list"})["voices"]}


def test_a_plain_stereo_clip_still_works():
    samples = prepare_reference(encoded(np.stack([speechlike(rate=44_100)] * 2, axis=1), rate=44_100), max_seconds=30)
    assert samples.dtype == np.float32 and 2.5 < len(samples) / 24_000 < 3.5
