"""Streaming through the RunPod SDK's own local API server (`python handler.py --rp_serve_api`)."""
import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.support.one_stream import assert_one_stream

ROOT = Path(__file__).resolve().parents[2]
TEXT = ("Streaming starts with the first sentence. The second one follows right after it. "
        "A third sentence closes this short passage.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "VOICE_LIBRARY_URI": str(tmp_path_factory.mktemp("api-lib")), "WARMUP": "0"}
    env.pop("RUNPOD_WEBHOOK_GET_JOB", None)
    log = open(tmp_path_factory.mktemp("api-log") / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, str(ROOT / "handler.py"), "--rp_serve_api", "--rp_api_port", str(port),
                             "--rp_api_host", "127.0.0.1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/docs", timeout=2).status_code < 500:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        log.seek(0)
        pytest.fail("the API server did not start:\n" + log.read()[-3000:])
    yield base
    proc.terminate()
    proc.wait(15)


def runsync(base: str, job: dict) -> list:
    response = httpx.post(f"{base}/runsync", json={"input": job}, timeout=300)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("status") == "COMPLETED", body
    return body["output"]


def pcm(item: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(item["audio_base64"]), "<i2")


def test_stream_chunks_concatenate_to_the_whole_result(api):
    items = runsync(api, {"text": TEXT, "format": "pcm", "stream": True})
    chunks, summary = items[:-1], items[-1]
    assert len(chunks) >= 3 and summary["done"] and summary["chunks"] == len(chunks)
    assert [c["chunk_index"] for c in chunks] == list(range(len(chunks)))
    streamed = np.concatenate([pcm(c) for c in chunks])
    [whole] = runsync(api, {"text": TEXT, "format": "pcm"})
    assert np.array_equal(streamed, pcm(whole))
    assert summary["timings_ms"]["first_chunk"] < summary["timings_ms"]["total"]


def test_mp3_chunks_join_into_one_stream(api):
    """The chunks are one encoder's successive bytes: joined, one mp3 of the whole answer's length."""
    items = runsync(api, {"text": TEXT, "format": "mp3", "stream": True})
    joined = b"".join(base64.b64decode(chunk["audio_base64"]) for chunk in items[:-1])
    assert_one_stream(joined, "mp3", items[-1]["duration_s"])


def test_stream_errors_are_one_error_item(api):
    """RunPod's real worker turns an item with `error` into a FAILED job; the pinned SDK's simulator lists the
    items of a generator as they come, so here the one error item is the whole output."""
    response = httpx.post(f"{api}/runsync", json={"input": {"text": "hi", "voice": "nobody", "stream": True}},
                          timeout=60).json()
    assert response["status"] == "COMPLETED", response
    [item] = response["output"]
    assert set(item) == {"error"} and json.loads(item["error"])["code"] == "voice_not_found"
