"""OpenAI's speed range (0.25-4.0): the backend renders what it can natively, time-stretching does the rest."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from jobcore import audio
from tests.support.jobs import error_of
from tests.support.speech import transcribe, wer

TEXT = "Please call me back before noon tomorrow about the garden party."
STRETCH_TEXTS = (TEXT, "The quick brown fox jumps over the lazy dog near the quiet river bank.",
                 "She sold the old piano to a teacher who lived across the street.",
                 "We will meet at the station after lunch and walk to the museum together.")


def render(worker, speed: float, text: str = TEXT):
    result = worker.handle({"text": text, "voice": "jm_kumo", "format": "wav", "speed": speed})
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
    # whisper tiny on 2x speech varies from sentence to sentence (0.07-0.45 here): judged on four, against Kokoro's
    # own speed=2.0 on the same four (measured 0.22 stretched vs 0.52 native, Dec 2026)
    stretched, native = [], []
    for text in STRETCH_TEXTS:
        _, normal, rate = render(kokoro_worker, 1.0, text)
        stretched.append(wer(text, transcribe(audio.time_stretch(normal, rate, 2.0), rate)))
        _, quick, rate = render(kokoro_worker, 2.0, text)
        native.append(wer(text, transcribe(quick, rate)))
    assert np.mean(stretched) <= 0.3 and np.mean(stretched) < np.mean(native), (stretched, native)
    tone = np.sin(2 * np.pi * 200 * np.arange(2 * rate) / rate).astype(np.float32)
    stretched = audio.time_stretch(tone, rate, 3.0)
    spectrum = np.abs(np.fft.rfft(stretched[: rate // 2]))     # 0.5 s window: bin = 2 Hz
    assert abs(np.argmax(spectrum) * 2 - 200) <= 4


def test_speed_bounds_follow_openai(kokoro_worker):
    for bad in (0.2, 4.5):
        assert "speed" in error_of(kokoro_worker.handle({"text": "Hi.", "speed": bad}))["message"]
    assert kokoro_worker.handle({"action": "info"})["capabilities"]["speed_range"] == [0.5, 2.0]
