"""The backends' explicit contract on the CPU, without torch: declarations, load(), the shared reference check,
and the start-up weight check every torch backend runs from its one `weights` declaration."""
from __future__ import annotations

import importlib.util
import inspect
import json
import subprocess
import sys

import numpy as np
import pytest

from backends import REGISTRY, Backend, Weights, backend_class, load_backend
from backends.base import check_reference
from backends.torch_support import TorchBackend
from common.errors import AudioInvalid, BackendUnavailable
from common.manifest import MANIFEST, write_manifest

TORCH_BACKENDS = [name for name in REGISTRY if issubclass(backend_class(name), TorchBackend)]


def test_every_backend_declares_its_weights_and_loads_through_a_class_method():
    for name in REGISTRY:
        cls = backend_class(name)
        assert cls.name == name
        assert isinstance(cls.weights, Weights), name
        assert cls.weights.required, name
        # its weights come from the hub or ship in a package, never neither
        assert (cls.weights.repo_id is None) != (cls.weights.package is None), name
        assert not getattr(cls.load, "__isabstractmethod__", False), name
        assert inspect.ismethod(cls.load) and cls.load.__self__ is cls, name


def test_backend_classes_import_without_torch():
    """builder bake and the registry read the declarations; nothing heavy may come with them."""
    code = ("import sys, backends; [backends.backend_class(n).weights for n in backends.REGISTRY]; "
            "heavy = [m for m in ('torch', 'onnxruntime', 'chatterbox', 'TTS', 'f5_tts') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_load_backend_returns_a_complete_backend():
    backend = load_backend("hibari")
    try:
        assert isinstance(backend, Backend) and backend.revision
        chunks = list(backend.synthesize("Hello.", {}))
        assert chunks and chunks[0].audio.dtype == np.float32 and chunks[0].sample_rate == 24_000
    finally:
        backend.close()


def test_check_reference_gives_mono_float32_or_audio_invalid():
    clip = check_reference(np.ones((2, 3), dtype=np.float64) * 0.5)
    assert clip.dtype == np.float32 and clip.shape == (6,)
    for bad in (np.zeros(0), np.array([0.1, np.nan]), np.array([np.inf, 0.0])):
        with pytest.raises(AudioInvalid, match="empty or not finite"):
            check_reference(bad)


def baked(tmp_path, weights: Weights, with_optional: bool = True):
    """A model directory holding small stand-ins for every declared file."""
    for name in (*weights.required, *(weights.optional if with_optional else ())):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(name.encode())
    return tmp_path


def drop_from_manifest(model_dir, name: str) -> None:
    manifest = json.loads((model_dir / MANIFEST).read_text())
    manifest["files"] = [f for f in manifest["files"] if f["path"] != name]
    (model_dir / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize("name", TORCH_BACKENDS)
def test_start_up_refuses_a_required_file_the_manifest_does_not_list(name, tmp_path):
    """A file on disk but not in manifest.json would load unverified: start-up names it (before any import)."""
    cls = backend_class(name)
    model_dir = baked(tmp_path, cls.weights)
    write_manifest(model_dir, name)
    unlisted = cls.weights.required[-1]
    drop_from_manifest(model_dir, unlisted)
    with pytest.raises(BackendUnavailable, match=f"{unlisted} is not listed"):
        cls.load(str(model_dir), device="cpu")


@pytest.mark.parametrize("name", TORCH_BACKENDS)
def test_start_up_refuses_an_unlisted_optional_file_that_is_there(name, tmp_path):
    cls = backend_class(name)
    model_dir = baked(tmp_path, cls.weights)
    write_manifest(model_dir, name)
    optional = cls.weights.optional[0]
    drop_from_manifest(model_dir, optional)
    with pytest.raises(BackendUnavailable, match=f"{optional} is not listed"):
        cls.load(str(model_dir), device="cpu")


@pytest.mark.parametrize("name", TORCH_BACKENDS)
def test_start_up_names_a_missing_required_file_and_a_missing_model_dir(name, tmp_path):
    cls = backend_class(name)
    model_dir = baked(tmp_path, cls.weights, with_optional=False)
    missing = cls.weights.required[0]
    (model_dir / missing).unlink()
    with pytest.raises(BackendUnavailable, match=f"lacks {missing}"):
        cls.load(str(model_dir), device="cpu")
    with pytest.raises(BackendUnavailable, match="needs its weights in MODEL_DIR"):
        cls.load(None)


def test_torch_backend_passes_the_weight_check_then_needs_torch(tmp_path):
    """A complete, listed directory gets past the check; here (no torch) the engine import is what fails."""
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here")
    cls = backend_class("chatterbox")
    model_dir = baked(tmp_path, cls.weights, with_optional=False)
    write_manifest(model_dir, "chatterbox")
    with pytest.raises(BackendUnavailable, match="chatterbox-tts is not installed"):
        cls.load(str(model_dir), device="cpu")


@pytest.mark.parametrize("name", ["kokoro", "hibari"])
def test_packaged_backends_check_a_baked_copy_against_its_manifest(name, tmp_path):
    from builder.bake import bake

    cls = backend_class(name)
    manifest = bake(name, tmp_path)
    assert cls.load(str(tmp_path)).revision
    next(f for f in manifest["files"] if f["path"] == cls.weights.required[0])["sha256"] = "0" * 64
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackendUnavailable, match="does not match its sha256"):
        cls.load(str(tmp_path))
    drop_from_manifest(tmp_path, cls.weights.required[0])
    with pytest.raises(BackendUnavailable, match=f"{cls.weights.required[0]} is not listed"):
        cls.load(str(tmp_path))
