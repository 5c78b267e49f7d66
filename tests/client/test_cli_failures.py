"""The command line fails cleanly: bounded retries on submit, poll and download (--retries, --deadline), one
line and an exit code on failure and Ctrl-C (a document resumes after it), no traceback on a closed pipe,
and an output name the worker cannot write is refused before anything is sent."""
from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fake_endpoint import FakeEndpoint
from tests.support.interrupt import default_sigint

ROOT = Path(__file__).resolve().parents[2]
BOOK = "First paragraph, spoken in the first part.\n\nSecond paragraph, spoken in the second part.\n"


def cli(*args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "client", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    return done, time.monotonic() - started


def clean_failure(done: subprocess.CompletedProcess, code: int = 1) -> str:
    """The one line the command ended with on failure (retry warnings may come before it)."""
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and lines, done.stderr
    assert all(line.startswith("WARNING") for line in lines[:-1]), done.stderr
    return lines[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pcm_output(seconds: float = 0.5) -> dict:
    data = bytes(2 * int(24_000 * seconds))
    return {"format": "pcm", "sample_rate": 24_000, "audio_base64": base64.b64encode(data).decode(),
            "sentences": [], "duration_s": seconds, "content_type": "audio/L16"}


def test_document_against_a_down_server_gives_up_after_its_retries(tmp_path):
    book = tmp_path / "book.txt"
    book.write_text(BOOK)
    done, took = cli("document", str(book), "--url", f"http://127.0.0.1:{free_port()}", "--out",
                     str(tmp_path / "book.mp3"), "--retries", "2", "--no-progress")
    line = clean_failure(done)
    assert "after 3 tries" in line and "Connect" in line and took < 60
    assert not (tmp_path / "book.mp3").exists()


def test_every_failed_submit_counts_against_retries(tmp_path):
    """A wrong --url answering 503 to /run: three submits with --retries 2, then one line, exit 1."""
    book = tmp_path / "book.txt"
    book.write_text(BOOK)
    with FakeEndpoint(lambda path, body: (503, {"error": "no workers"})) as endpoint:
        done, _ = cli("document", str(book), "--url", endpoint.url, "--out", str(tmp_path / "b.mp3"),
                      "--retries", "2", "--parallel", "1", "--no-progress")
    assert "HTTP 503" in clean_failure(done)
    assert len(endpoint.paths("POST")) == 3


def test_a_404_on_submit_is_a_wrong_url_and_not_retried(tmp_path):
    book = tmp_path / "book.txt"
    book.write_text(BOOK)
    with FakeEndpoint(lambda path, body: (404, {"error": "Not Found"})) as endpoint:
        done, _ = cli("document", str(book), "--url", endpoint.url, "--out", str(tmp_path / "b.mp3"),
                      "--parallel", "1", "--no-progress")
    assert "HTTP 404" in clean_failure(done) and len(endpoint.paths("POST")) == 1


def test_poll_failures_count_and_keep_the_job(tmp_path):
    """/status failing (502) is asked again for the same job, never resubmitted, and counts against --retries."""
    book = tmp_path / "book.txt"
    book.write_text("Only one paragraph here.\n")

    def answer(path, body):
        return (200, {"id": "job-1", "status": "IN_QUEUE"}) if path == "/run" else (502, {"error": "bad gateway"})

    with FakeEndpoint(answer) as endpoint:
        done, _ = cli("document", str(book), "--url", endpoint.url, "--out", str(tmp_path / "b.wav"),
                      "--retries", "1", "--no-progress")
    assert "HTTP 502" in clean_failure(done)
    assert endpoint.paths("POST") == ["/run"] and endpoint.paths("GET") == ["/status/job-1"] * 2


def test_download_failures_count_against_retries(tmp_path):
    book = tmp_path / "book.txt"
    book.write_text("Only one paragraph here.\n")
    dead_url = f"http://127.0.0.1:{free_port()}/outputs/job-1/speech.pcm"

    def answer(path, body):
        if path == "/run":
            return 200, {"id": "job-1", "status": "IN_QUEUE"}
        return 200, {"id": "job-1", "status": "COMPLETED",
                     "output": {"format": "pcm", "sample_rate": 24_000, "audio_url": dead_url}}

    with FakeEndpoint(answer) as endpoint:
        done, _ = cli("document", str(book), "--url", endpoint.url, "--out", str(tmp_path / "b.wav"),
                      "--retries", "2", "--no-progress")
    assert "downloading audio_url failed" in clean_failure(done)
    assert endpoint.paths("POST") == ["/run"] and len(endpoint.paths("GET")) == 3


def test_deadline_bounds_the_whole_run(tmp_path):
    book = tmp_path / "book.txt"
    book.write_text(BOOK)
    with FakeEndpoint(lambda path, body: (200, {"id": "job-1", "status": "IN_QUEUE"})) as endpoint:
        done, took = cli("document", str(book), "--url", endpoint.url, "--out", str(tmp_path / "b.wav"),
                         "--deadline", "3", "--no-progress")
    assert "3 s deadline" in clean_failure(done) and took < 30


def test_say_retries_then_fails_in_one_line(tmp_path):
    with FakeEndpoint(lambda path, body: (500, {"error": "boom"})) as endpoint:
        done, _ = cli("say", "Hello.", "--url", endpoint.url, "-o", str(tmp_path / "hi.wav"), "--retries", "1")
    assert "HTTP 500" in clean_failure(done) and len(endpoint.paths("POST")) == 2


def test_ctrl_c_is_one_line_and_the_document_resumes(tmp_path):
    """Part 0 finishes, part 1 stays queued; Ctrl-C exits 130 with one line; the rerun reuses part 0 and
    re-attaches part 1's job (no new /run for it)."""
    book = tmp_path / "book.txt"
    book.write_text(BOOK)
    release = {"job-1": False}

    def answer(path, body):
        if path == "/run":
            text = body["input"]["segments"][0]["text"]
            return 200, {"id": "job-0" if text.startswith("First") else "job-1", "status": "IN_QUEUE"}
        job = path.rsplit("/", 1)[-1]
        if job == "job-1" and not release["job-1"]:
            return 200, {"id": job, "status": "IN_PROGRESS"}
        return 200, {"id": job, "status": "COMPLETED", "output": pcm_output()}

    out = tmp_path / "book.wav"
    command = [sys.executable, "-m", "client", "document", str(book), "--out", str(out), "--no-progress",
               "--part-chars", "45"]
    with FakeEndpoint(answer) as endpoint:
        first = subprocess.Popen([*command, "--url", endpoint.url], cwd=ROOT, preexec_fn=default_sigint,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        manifest = tmp_path / "book.wav.manifest.json"
        deadline = time.monotonic() + 60
        while True:
            assert first.poll() is None and time.monotonic() < deadline, first.stderr and first.stderr.read()
            try:
                parts = json.loads(manifest.read_text())["parts"]
                if [p["status"] for p in parts] == ["done", "submitted"]:
                    break
            except (FileNotFoundError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=30)
        done = subprocess.CompletedProcess(command, first.returncode, "", stderr)
        assert "run the same command again" in clean_failure(done, 130)
        runs_before = len(endpoint.paths("POST"))
        release["job-1"] = True
        second, _ = cli(*command[3:], "--url", endpoint.url)
    assert second.returncode == 0, second.stderr
    assert "1 from an earlier run" in second.stdout and len(endpoint.paths("POST")) == runs_before == 2
    assert out.exists()


def test_closed_pipe_is_no_traceback(local_url):
    process = subprocess.Popen([sys.executable, "-m", "client", "info", "--url", local_url], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()                              # as `| head` does once it has its lines
    stderr = process.stderr.read().decode()
    assert process.wait(60) == 141 and stderr == "", stderr


@pytest.mark.parametrize("args, says", [
    (["say", "Hello.", "-o", "hi.txt"], "cannot write .txt"),
    (["document", "BOOK", "--out", "book.m4b"], "cannot write .m4b"),
    (["document", "BOOK", "--out", "book.aac"], "not aac"),
    (["say", "Hello.", "-o", "hi.mp3", "--format", "wav"], "names mp3"),
])
def test_an_output_the_worker_cannot_write_is_refused_before_sending(tmp_path, args, says):
    book = tmp_path / "book.txt"
    book.write_text(BOOK)
    args = [str(book) if a == "BOOK" else str(tmp_path / a) if "." in a and a != "Hello." else a for a in args]
    with FakeEndpoint(lambda path, body: (500, {"error": "must not be called"})) as endpoint:
        done, _ = cli(*args, "--url", endpoint.url)
    assert says in clean_failure(done) and endpoint.requests == []
    assert [p.name for p in tmp_path.iterdir()] == ["book.txt"]


def test_the_extension_picks_the_format(local_url, tmp_path):
    out = tmp_path / "hi.ogg"
    done, _ = cli("say", "Hello there.", "-o", str(out), "--url", local_url)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:4] == b"OggS" and b"OpusHead" in out.read_bytes()[:100]
