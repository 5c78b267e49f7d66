"""OpenAI's speed range (0.25-4.0): the backend renders what it can natively, time-stretching does the rest."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from jobcore import audio
from tests.support.jobs import error_of
from tests.support.speech import transcribe, wer

TEXT = "Please call me back before noon tomorrow about the garden party."


def render(worker, speed: float):
    result = worker.handle({"text": TEXT, "voice": "jm_kumo", "format": "wav", "speed": speed})
    samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
    return result, samples, rate


@pytest.mark.parametrize("speed, native", [(4.0, 2.0), (0.25, 0.5)])
def test_speeds_beyond_the_native_range_are_stretched_and_intelligible(kokoro_worker, speed, native):
    _, native_samples, rate = render(kokoro_worker, native)
    result, samples, rate = render(kokoro_worker, speed)
    assert abs(len(samples) * speed / native - len(native_samples)) < 0.02 * rate + 0.01 * len(native_samples)
    if speed < 1:             # whisper tiny reads 4x speech poorly even from people; slow speech must stay clear
        assert wer(TEXT, transcribe(samples, rate)) <= 0.2
    assert abs(len(samples) / rate - result["duration_s"]) < 0.01


def test_time_stretch_keeps_words_and_pitch(kokoro_worker):
    _, samples, rate = render(kokoro_worker, 1.0)
    fast = audio.time_stretch(samples, rate, 2.0)
    assert abs(len(fast) * 2 - len(samples)) <= 2
    assert wer(TEXT, transcribe(fast, rate)) <= 0.3      # measured 0.18 (Kokoro's own speed=2.0: 0.82)
    tone = np.sin(2 * np.pi * 200 * np.arange(2 * rate) / rate).astype(np.float32)
    stretched = audio.time_stretch(tone, rate, 3.0)
    spectrum = np.abs(np.fft.rfft(stretched[: rate // 2]))     # 0.5 s window: bin = 2 Hz
    assert abs(np.argmax(spectrum) * 2 - 200) <= 4


def test_speed_bounds_follow_openai(kokoro_worker):
    for bad in (0.2, 4.5):
        assert "speed" in error_of(kokoro_worker.handle({"text": "Hi.", "speed": bad}))["message"]
    assert kokoro_worker.handle({"action": "info"})["capabilities"]["speed_range"] == [0.5, 2.0]
