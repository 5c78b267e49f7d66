"""`stream: true` chunks are the successive bytes of one encoder: joined by the client they are one file of
the answer's full length (libsndfile and PyAV), with one stream header; the first chunk carries audio."""
from __future__ import annotations

import base64

import pytest

from tests.support.one_stream import assert_one_stream

TEXT = "Alpha is the first sentence here. Beta follows it closely. Gamma ends the answer."


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "wav", "flac"])
def test_joined_chunks_are_one_stream(kokoro_worker, fmt):
    items = list(kokoro_worker.stream({"text": TEXT, "voice": "jm_kumo", "format": fmt, "stream": True}))
    chunks, summary = items[:-1], items[-1]
    assert summary["done"] and summary["chunks"] == len(chunks)
    assert [c["chunk_index"] for c in chunks] == list(range(len(chunks)))
    assert [c["text"] for c in chunks if c["text"]] == [s["text"] for s in summary["sentences"]]
    data = [base64.b64decode(c["audio_base64"]) for c in chunks]
    if fmt != "flac":                                # flac's header is written last: it comes whole at the end
        assert len(data[0]) > 1000
    assert_one_stream(b"".join(data), fmt, summary["duration_s"])
