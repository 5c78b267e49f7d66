"""A 20,000-character document through `python -m server` with WORKERS=1 and WORKERS=2 (hibari: deterministic):
the same bytes, timings stitched onto the joined audio, and a killed client that resumes without redoing parts."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from client import Pauses, TTSClient, render_document
from client.split import split_document
from tests.support.documents import document
from tests.support.interrupt import default_sigint

ROOT = Path(__file__).resolve().parents[2]
@contextmanager
def server(tmp: Path, workers: int):
    """`python -m server` on a free loopback port, with the hibari backend."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PORT": str(port), "WORKERS": str(workers), "TTS_BACKEND": "hibari", "TTS_THREADS": "1",
           "VOICE_LIBRARY_URI": str(tmp / f"lib{workers}"), "WARMUP": "false", "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, preexec_fn=default_sigint)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server (WORKERS={workers}) did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def completed_jobs(url: str) -> int:
    return httpx.get(f"{url}/health").json()["jobs"]["completed"]


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("book") / "book.md"
    path.write_text(document())
    return path


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory, book):
    """The reference: the whole document through one worker (in the server's own process)."""
    tmp = tmp_path_factory.mktemp("one")
    with server(tmp, 1) as url, TTSClient(url) as client:
        result = render_document(client, book.read_text(), tmp / "book.wav", parallel=2, captions="vtt")
        assert completed_jobs(url) == result.parts
    return result


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    with server(tmp_path_factory.mktemp("two"), 2) as url:
        yield url


def test_two_worker_processes_make_the_same_bytes_as_one(one_worker, two_workers, book, tmp_path):
    assert len(book.read_text()) == 19_999
    with TTSClient(two_workers) as client:
        jobs_before = completed_jobs(two_workers)
        result = render_document(client, book.read_text(), tmp_path / "book.wav", parallel=3, captions="vtt",
                                 keep_parts=True)
        assert completed_jobs(two_workers) - jobs_before == result.parts > 15
    assert (tmp_path / "book.wav").read_bytes() == one_worker.out.read_bytes()
    timings, reference = (json.loads(p.read_text()) for p in (result.files["timings"], one_worker.files["timings"]))
    for key in ("duration_s", "sentences", "chapters"):
        assert timings[key] == reference[key]
    assert result.files["captions"].read_text().startswith("WEBVTT")

    # timings: each part's own sentence times, shifted by the parts and pauses before it, on the real audio
    audio, rate = sf.read(tmp_path / "book.wav", dtype="int16")
    manifest = json.loads((tmp_path / "book.wav.manifest.json").read_text())
    split, pauses = split_document(book.read_text()), Pauses()
    assert rate == timings["sample_rate"] == 24_000
    assert len(audio) / rate == pytest.approx(timings["duration_s"], abs=1e-3)
    position, merged = 0, iter(timings["sentences"])
    for part, record in zip(split.parts, manifest["parts"]):
        silence = round(getattr(pauses, part.pause) * rate) if part.pause != "none" else 0
        assert not audio[position:position + silence].any()                            # the pause is silence
        position += silence
        pcm = np.frombuffer((tmp_path / "book.wav.parts" / record["file"]).read_bytes(), "<i2")
        assert np.array_equal(audio[position:position + len(pcm)], pcm)               # the part, in its place
        for own in record["sentences"]:
            got = next(merged)
            assert got["text"] == own["text"] and got["part"] == part.index
            assert got["start_s"] == pytest.approx(own["start_s"] + position / rate, abs=1e-3)
            assert got["end_s"] == pytest.approx(own["end_s"] + position / rate, abs=1e-3)
        position += len(pcm)
    assert position == len(audio) and next(merged, None) is None
    starts = [s["start_s"] for s in timings["sentences"]]
    ends = [s["end_s"] for s in timings["sentences"]]
    assert all(a < b for a, b in zip(starts, ends)) and all(e <= s for e, s in zip(ends, starts[1:]))
    assert ends[-1] == pytest.approx(timings["duration_s"], abs=1e-3)
    assert [c["title"] for c in timings["chapters"]] == [c["title"] for c in split.chapters]
    assert timings["chapters"][0]["start_s"] == 0 and timings["chapters"][-1]["end_s"] == timings["duration_s"]


def test_a_killed_run_resumes_without_redoing_finished_parts(one_worker, two_workers, book, tmp_path):
    out = tmp_path / "book.wav"
    jobs_before = completed_jobs(two_workers)
    command = [sys.executable, "-m", "client", "document", str(book), "--url", two_workers, "--out", str(out),
               "--parallel", "2", "--captions", "vtt", "--no-progress"]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=default_sigint)
    manifest_path, deadline = tmp_path / "book.wav.manifest.json", time.monotonic() + 120
    done: list[int] = []
    while len(done) < 4:
        assert first.poll() is None and time.monotonic() < deadline, "the client ended before it could be killed"
        try:
            done = [p["index"] for p in json.loads(manifest_path.read_text())["parts"] if p["status"] == "done"]
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.05)
    first.kill()
    first.wait()
    parts = json.loads(manifest_path.read_text())["parts"]
    done = [p["index"] for p in parts if p["status"] == "done"]
    assert not out.exists() and len(done) < len(parts)

    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert f"{len(done)} from an earlier run" in second.stdout
    assert out.read_bytes() == one_worker.out.read_bytes()
    # finished parts were not sent again and recorded in-flight jobs were re-attached; a kill landing between a
    # /run answer and the manifest write can leave at most one unrecorded job per parallel slot (2 here)
    assert len(parts) <= completed_jobs(two_workers) - jobs_before <= len(parts) + 2
    assert not manifest_path.exists() and not (tmp_path / "book.wav.parts").exists()
