"""The client installs alone (httpx its only dependency) and keeps its copy of the worker's formats and captions in
step; the worker's own install puts no module into site-packages."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from client import captions as client_captions, formats as client_formats
from common import captions as worker_captions, formats as worker_formats

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "onnxruntime", "soundfile", "pydantic", "boto3", "common", "client", "jobcore")
CHILD = f"""
import sys, tts_client
from tts_client import TTSClient, render_document
print(",".join(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
"""


def run(*args: str | Path, cwd: Path) -> str:
    out = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out.stdout


def test_the_client_installs_alone_with_httpx_only(tmp_path):
    """`pip install ./client` into a fresh venv (no system site-packages): import and `--help` work, and nothing
    of the worker (numpy, onnxruntime, the project's other packages) comes along."""
    run(sys.executable, "-m", "venv", tmp_path / "venv", cwd=tmp_path)
    py = tmp_path / "venv" / "bin" / "python"
    source = shutil.copytree(ROOT / "client", tmp_path / "client",       # pip builds in the tree: not in ours
                             ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    run(py, "-m", "pip", "install", "-q", "--disable-pip-version-check", source, cwd=tmp_path)
    installed = {line.split("==")[0].lower() for line in run(py, "-m", "pip", "freeze", cwd=tmp_path).split()}
    assert "httpx" in installed and "tts-worker-client" in installed
    assert not installed & {"numpy", "onnxruntime", "soundfile", "pydantic", "boto3", "runpod"}
    assert run(py, "-c", CHILD, cwd=tmp_path).strip() == ""        # run outside the repository: only the install
    usage = run(py, "-m", "tts_client", "--help", cwd=tmp_path)
    assert "python -m tts_client" in usage and "document" in usage


def test_the_worker_install_puts_no_module_into_site_packages(tmp_path):
    """`pip install .` installs the dependencies only: the wheel holds its metadata and nothing else."""
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", tmp_path,
        ROOT, cwd=tmp_path)
    (wheel,) = tmp_path.glob("tts_worker-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert names and all(".dist-info/" in name for name in names), names


def test_the_clients_formats_match_the_workers():
    assert client_formats.DEFAULT_FORMAT == worker_formats.DEFAULT_FORMAT
    assert list(client_formats.FORMATS) == list(worker_formats.FORMATS)
    for name, theirs in worker_formats.FORMATS.items():
        ours = client_formats.FORMATS[name]
        assert (ours.extension, ours.concatenates, ours.sample_rates) == \
               (theirs.extension, theirs.concatenates, theirs.sample_rates), name
        assert ours.soundfile == worker_formats.SOUNDFILE.get(name), name
    for path in ("a.mp3", "b.OGG", "c.opus", "d.flac", "e.wav", "f.pcm", "g.aac", "h.txt", "noext"):
        assert client_formats.format_for_path(path) == worker_formats.format_for_path(path), path


@pytest.mark.parametrize("kind", ["srt", "vtt"])
def test_the_clients_captions_match_the_workers(kind):
    cues = [{"text": "One.", "start_s": 0.0, "end_s": 1.2345}, {"word": "two", "start_s": 3725.5, "end_s": 3726.0}]
    assert client_captions.captions(cues, kind) == worker_captions.captions(cues, kind)
