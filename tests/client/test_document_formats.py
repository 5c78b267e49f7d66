"""A document stitched into mp3, opus, flac and wav is one stream of its whole length (libsndfile and PyAV), with
one header, though it was made of many jobs."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from client import TTSClient, render_document
from tests.support.one_stream import assert_one_stream

RATE = 24_000
DOC = "\n\n".join(f"Paragraph {i} says something worth hearing." for i in range(6))


def endpoint(request: httpx.Request) -> httpx.Response:
    """/run and /status: each part's pcm is a 1.5 s tone per paragraph, its pitch from the job number."""
    if request.url.path == "/run":
        endpoint.inputs.append(json.loads(request.content)["input"])
        return httpx.Response(200, json={"id": str(len(endpoint.inputs) - 1), "status": "IN_QUEUE"})
    number = int(request.url.path.rsplit("/", 1)[1])
    paragraphs = len(endpoint.inputs[number]["segments"])
    t = np.arange(int(1.5 * RATE * paragraphs)) / RATE
    pcm = (8000 * np.sin(2 * np.pi * (200 + 50 * number) * t)).astype("<i2").tobytes()
    output = {"format": "pcm", "sample_rate": RATE, "audio_base64": base64.b64encode(pcm).decode(), "sentences": []}
    return httpx.Response(200, json={"id": str(number), "status": "COMPLETED", "output": output})


@pytest.mark.parametrize("name", ["book.mp3", "book.ogg", "book.flac", "book.wav"])
def test_a_stitched_document_is_one_stream(tmp_path: Path, name):
    endpoint.inputs = []
    with TTSClient("http://fake", transport=httpx.MockTransport(endpoint)) as client:
        result = render_document(client, DOC, tmp_path / name, parallel=2, part_chars=100)
    assert result.parts >= 3
    fmt = {"ogg": "opus"}.get(name.rsplit(".", 1)[1], name.rsplit(".", 1)[1])
    assert_one_stream((tmp_path / name).read_bytes(), fmt, result.duration_s, streamed=False)
