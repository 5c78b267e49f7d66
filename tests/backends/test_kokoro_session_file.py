"""A baked Kokoro model onnxruntime reads from its paths (backends/kokoro_session.py session_files): its session starts
building at the start-up's early start, beside the files' sha256 check, and the load takes it only once the files matched
their manifest."""
from __future__ import annotations

import shutil
import threading

import pytest

import backends.kokoro as kokoro
import backends.kokoro_session as kokoro_session
from builder.bake import bake
from common.errors import BackendUnavailable

MODEL = "kokoro-v1.0.int8.text.onnx"          # the first part (kokoro_layout)


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    dest = tmp_path_factory.mktemp("kokoro")
    bake("kokoro", dest)
    return dest


@pytest.fixture
def builds(monkeypatch):
    """Each session build: the thread it ran on."""
    threads: list[str] = []
    real = kokoro_session.build_session

    def build(*args):
        threads.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(kokoro_session, "build_session", build)     # started ahead
    monkeypatch.setattr(kokoro, "build_session", build)             # built by the load itself
    return threads


def test_the_load_takes_the_session_started_ahead(baked, builds):
    kokoro_session.start_session(str(baked), 0, "auto")
    backend = kokoro.KokoroBackend.load(str(baked))
    try:
        assert len(builds) == 1 and builds[0].startswith("kokoro-session")
        assert backend.timed and kokoro_session._early == {}
        chunks = list(backend.synthesize("Good morning, everyone.", backend.stock_voices()[0].embedding))
        assert [w.word for c in chunks for w in c.words or ()] == ["Good", "morning", "everyone"]
    finally:
        backend.close()


def test_a_session_started_for_other_settings_is_not_taken(baked, builds):
    kokoro_session.start_session(str(baked), 1, "auto")
    backend = kokoro.KokoroBackend.load(str(baked), threads=2)
    backend.close()
    assert len(builds) == 2 and not builds[1].startswith("kokoro-session") and kokoro_session._early == {}


def test_a_changed_model_file_is_refused_though_its_session_was_started(baked, tmp_path, builds):
    changed = tmp_path / "kokoro"
    shutil.copytree(baked, changed)
    data = bytearray((changed / MODEL).read_bytes())
    data[len(data) // 3] ^= 0xFF           # after the manifest: its sha256 no longer matches
    (changed / MODEL).write_bytes(bytes(data))
    kokoro_session.start_session(str(changed), 0, "auto")
    with pytest.raises(BackendUnavailable, match="does not match its sha256"):
        kokoro.KokoroBackend.load(str(changed))
    assert kokoro_session._early == {}             # the started session is dropped, not kept for a later load


EARLY_CHILD = r"""
import json, sys, time
import handler                                   # the entry point imports no job core, numpy or backend base
light = [m for m in ("numpy", "pydantic", "backends.base", "jobcore.worker", "hibari") if m in sys.modules]
import backends
backends.start_early("kokoro", sys.argv[1])
import backends.kokoro_session as ks
started = sorted(ks._early)
still_light = [m for m in ("pydantic", "backends.base", "jobcore.worker") if m in sys.modules]
print(json.dumps({"light": light, "started": started, "still_light": still_light}))
"""


def test_the_entry_point_starts_the_session_before_importing_the_job_core(baked):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", EARLY_CHILD, str(baked)], cwd=root, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {"light": [], "started": [str(baked / MODEL)], "still_light": []}
