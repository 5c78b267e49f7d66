"""The client against a mocked RunPod endpoint (list outputs, polling) and the CLI against the local server."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from client import TTSClient, TTSJobError
from jobcore import audio
from tests.support.one_stream import assert_one_stream

ROOT = Path(__file__).resolve().parents[2]


def runpod_like(statuses: list[dict]):
    """A fake RunPod endpoint: /runsync answers IN_PROGRESS; /status walks through `statuses`."""
    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/runsync"):
            return httpx.Response(200, json={"id": "job-1", "status": "IN_PROGRESS"})
        if request.url.path.endswith("/status/job-1"):
            return httpx.Response(200, json=statuses.pop(0))
        return httpx.Response(404, json={"error": "not found"})

    return httpx.MockTransport(handle), seen


def test_for_runpod_targets_the_v2_endpoint():
    with TTSClient.for_runpod("abc123", "key") as c:
        assert c.base_url == "https://api.runpod.ai/v2/abc123"


def test_runsync_polls_and_unwraps_runpod_list_outputs():
    wav = audio.encode(audio.np.zeros(2400, "float32"), 24_000, "wav")
    transport, seen = runpod_like([
        {"id": "job-1", "status": "IN_PROGRESS"},
        {"id": "job-1", "status": "COMPLETED",
         "output": [{"format": "wav", "audio_base64": base64.b64encode(wav).decode()}]}])
    with TTSClient("https://api.runpod.ai/v2/abc", "key", transport=transport) as c:
        assert c.synthesize("Hi.", format="wav") == wav
    assert seen[0].headers["authorization"] == "Bearer key"
    assert json.loads(seen[0].content) == {"input": {"text": "Hi.", "format": "wav"}}
    assert [r.url.path for r in seen] == ["/v2/abc/runsync", "/v2/abc/status/job-1", "/v2/abc/status/job-1"]


def test_job_errors_raise_with_code():
    error = json.dumps({"code": "voice_not_found", "message": "no voice 'x'", "hint": None})
    transport, _ = runpod_like([{"id": "job-1", "status": "FAILED", "error": error}])
    with TTSClient("http://runpod.invalid", transport=transport) as c, pytest.raises(TTSJobError) as info:
        c.synthesize("Hi.", voice="x")
    assert info.value.code == "voice_not_found"


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "client", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_cli_say_writes_a_decodable_file(local_url, tmp_path):
    out = tmp_path / "hello.wav"
    done = cli("say", "Hello from the command line.", "--voice", "jm_kumo", "-o", str(out), "--url", local_url)
    assert done.returncode == 0, done.stderr
    samples, rate = audio.decode(out.read_bytes())
    assert rate == 24_000 and len(samples) / rate > 1.0


@pytest.mark.parametrize("fmt", ["mp3", "opus", "wav"])
def test_cli_say_streams_one_file(local_url, tmp_path, fmt):
    """`say --stream` writes the chunks as they come; they are one stream of the whole answer's length."""
    text = "One sentence comes first. Two more follow it. Three ends it."
    out = tmp_path / f"stream.{'ogg' if fmt == 'opus' else fmt}"
    done = cli("say", text, "-o", str(out), "--url", local_url, "--stream", "--voice", "jm_kumo")
    assert done.returncode == 0 and "3 sentences" in done.stdout, done.stderr
    with TTSClient(local_url) as c:
        pcm = c.synthesize(text, voice="jm_kumo", format="pcm")
    assert_one_stream(out.read_bytes(), fmt, len(pcm) / 2 / 24_000)
    if fmt == "wav":                                     # written to a file: the sizes are the real ones
        assert out.read_bytes()[4:8] != b"\xff\xff\xff\xff"


def test_cli_voices_and_errors(local_url):
    listed = cli("voices", "list", "--url", local_url)
    assert listed.returncode == 0 and "jm_kumo" in listed.stdout
    missing = cli("voices", "get", "nobody-at-all", "--url", local_url)
    assert missing.returncode == 1 and "voice_not_found" in missing.stderr
    info = cli("info", "--url", local_url)
    assert info.returncode == 0 and json.loads(info.stdout)["backend"] == "kokoro"
