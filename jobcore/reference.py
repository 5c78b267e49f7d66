"""Reference clips for cloning: decode, downmix, resample, trim silence, normalize loudness, bound duration."""
from __future__ import annotations

import base64
import binascii
import io

import numpy as np
import soundfile as sf

from common.errors import AudioInvalid, InvalidInput

from .audio import decode, resample, trim_silence

REFERENCE_RATE = 24_000
MIN_SECONDS = 1.0
TARGET_RMS_DBFS = -20.0


def decode_base64_audio(data: str, max_bytes: int) -> bytes:
    if len(data) > max_bytes * 4 // 3 + 4:
        raise AudioInvalid(f"the audio is larger than the {max_bytes} byte limit", hint="send a shorter clip")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("audio_base64 is not valid base64") from None


def best_window(audio: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    """The `seconds`-long stretch with the most speech energy (frames above the clip's median level)."""
    size = int(seconds * rate)
    if len(audio) <= size:
        return audio
    hop = rate // 10
    frames = audio[: len(audio) // hop * hop].reshape(-1, hop)
    energy = np.sqrt((frames ** 2).mean(axis=1))
    voiced = (energy > max(np.median(energy), 1e-4)).astype(np.float64)
    per_window = size // hop
    sums = np.convolve(voiced, np.ones(per_window), mode="valid")
    start = int(np.argmax(sums)) * hop
    return audio[start: start + size]


def prepare_reference(data: bytes, max_seconds: float, max_input_seconds: float = 300.0) -> np.ndarray:
    """Any wav/flac/ogg/mp3 clip -> mono float32 at 24 kHz, trimmed, loudness-normalized, at most max_seconds."""
    samples, rate = decode(data, max_seconds=max_input_seconds, max_channels=2, max_rate=96_000)
    samples = trim_silence(samples, threshold=0.01 * max(float(np.abs(samples).max()), 1e-6), sample_rate=rate)
    if len(samples) < MIN_SECONDS * rate:
        raise AudioInvalid(f"the clip holds less than {MIN_SECONDS:.0f} s of sound",
                           hint="send 5-20 s of clean speech")
    samples = best_window(samples, rate, max_seconds)
    samples = resample(samples, rate, REFERENCE_RATE)
    rms = float(np.sqrt(np.mean(samples ** 2)))
    gain = 10 ** (TARGET_RMS_DBFS / 20) / max(rms, 1e-6)
    peak = float(np.abs(samples).max()) * gain
    if peak > 0.99:
        gain *= 0.99 / peak
    return (samples * gain).astype(np.float32)


def to_flac(samples: np.ndarray, rate: int = REFERENCE_RATE) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()
