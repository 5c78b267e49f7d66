"""Splitting documents into jobs, laying the parts out on one timeline, retries (no server needed)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from client import TTSClient, TTSError, render_document, retries
from client.split import blocks, split_document
from client.stitch import Pauses, chunks, ffmetadata, timeline, write_audio

BOOK = """# The Long Road

It was late. The rain had stopped,
and the street was quiet.

* * *

Chapter 2

She walked on. Nobody followed her! Did anyone see? Perhaps not.

## A Short Interlude
- one thing
- another thing
"""


def test_headings_open_chapters_and_wrapped_lines_join():
    found = blocks(BOOK)
    assert [(b.text, b.heading) for b in found] == [
        ("The Long Road", True),
        ("It was late. The rain had stopped, and the street was quiet.", False),
        ("Chapter 2", True),
        ("She walked on. Nobody followed her! Did anyone see? Perhaps not.", False),
        ("A Short Interlude", True),
        ("one thing another thing", False),
    ]
    assert not any(b.heading for b in blocks("Part of me wanted to stay.\n\nIntroduction to it was easy. Yes."))
    split = split_document(BOOK, part_chars=1000)
    assert [c["title"] for c in split.chapters] == ["The Long Road", "Chapter 2", "A Short Interlude"]
    assert [p.pause for p in split.parts] == ["none", "chapter", "chapter"]
    assert split.parts[0].segments == ["The Long Road", "It was late. The rain had stopped, and the street was quiet."]


def test_parts_respect_the_size_and_keep_every_word_in_order():
    paragraph = " ".join(f"Sentence number {i} is here." for i in range(60))       # ~1,700 characters
    document = "\n\n".join(["A short one."] * 5 + [paragraph] + ["After the long one."])
    split = split_document(document, part_chars=400)
    assert all(p.chars <= 400 for p in split.parts)
    assert " ".join(s for p in split.parts for s in p.segments).split() == document.split()
    cut = [p for p in split.parts if p.paragraphs == [5]]
    assert len(cut) > 3 and [p.pause for p in cut] == ["paragraph"] + ["sentence"] * (len(cut) - 1)
    assert all(p.segments[0].endswith(".") for p in cut)                            # cut between sentences
    assert split.parts[0].segments == ["A short one."] * 5 and split.parts[-1].pause == "paragraph"


def test_timeline_offsets_each_part_by_what_comes_before(tmp_path: Path):
    split = split_document("# One\n\nFirst part.\n\n# Two\n\nSecond part.", part_chars=1000)
    rate, pauses = 1000, Pauses(sentence=0.2, paragraph=0.5, chapter=1.0)
    records = []
    for index, length in enumerate((1500, 2500)):
        (tmp_path / f"{index}.pcm").write_bytes(np.full(length, index + 1, "<i2").tobytes())
        records.append({"file": f"{index}.pcm", "samples": length, "sentences": [
            {"text": "title", "start_s": 0.0, "end_s": 0.5, "part": 0},
            {"text": "body", "start_s": 1.0, "end_s": length / rate, "part": 1}]})
    timings = timeline(split.parts, records, split.chapters, rate, pauses)
    assert timings["duration_s"] == 1.5 + 1.0 + 2.5
    assert [(s["start_s"], s["end_s"]) for s in timings["sentences"]] == [(0, 0.5), (1, 1.5), (2.5, 3), (3.5, 5)]
    assert timings["chapters"] == [{"title": "One", "start_s": 0, "end_s": 1.5},
                                   {"title": "Two", "start_s": 1.5, "end_s": 5.0}]
    write_audio(tmp_path / "out.wav", "wav", rate, chunks(split.parts, records, tmp_path, rate, pauses, block=64))
    audio, got_rate = sf.read(tmp_path / "out.wav", dtype="int16")
    assert got_rate == rate and list(np.unique(audio[:1500])) == [1] and not audio[1500:2500].any()
    assert list(np.unique(audio[2500:])) == [2] and len(audio) == 5000
    assert "START=1500\nEND=5000\ntitle=Two" in ffmetadata(timings["chapters"])
    json.dumps(timings)


class FakeEndpoint:
    """RunPod's /run and /status in an httpx transport: each part's pcm is its job number; some jobs fail."""

    def __init__(self, fail: dict[int, str]):
        self.fail, self.inputs = fail, []     # submission number -> error code of that job

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/run":
            self.inputs.append(json.loads(request.content)["input"])
            return httpx.Response(200, json={"id": str(len(self.inputs) - 1), "status": "IN_QUEUE"})
        number = int(request.url.path.rsplit("/", 1)[1])
        if number in self.fail:
            error = json.dumps({"code": self.fail[number], "message": "no", "hint": None})
            return httpx.Response(200, json={"id": str(number), "status": "FAILED", "error": error})
        texts = [s["text"] for s in self.inputs[number]["segments"]]
        pcm = np.full(100 * len(texts), len(texts), "<i2").tobytes()
        output = {"format": "pcm", "sample_rate": 1000, "audio_base64": base64.b64encode(pcm).decode(),
                  "sentences": [{"text": t, "start_s": i * 0.1, "end_s": i * 0.1 + 0.05, "part": i}
                                for i, t in enumerate(texts)]}
        return httpx.Response(200, json={"id": str(number), "status": "COMPLETED", "output": output,
                                         "executionTime": 5})


DOC = "\n\n".join(f"Paragraph {i} says something." for i in range(12))


def test_a_part_that_fails_transiently_is_sent_again(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(retries, "FIRST_DELAY_S", 0.0)
    endpoint = FakeEndpoint({1: "internal_error", 2: "internal_error"})
    with TTSClient("http://fake", transport=httpx.MockTransport(endpoint)) as client:
        result = render_document(client, DOC, tmp_path / "out.wav", parallel=1, part_chars=100)
    assert result.parts == 4 and result.submitted == 6
    assert [j["segments"] for j in endpoint.inputs[1:4]] == [endpoint.inputs[1]["segments"]] * 3   # the same part
    audio, _ = sf.read(tmp_path / "out.wav", dtype="int16")
    assert len(audio) == 4 * 300 + 3 * 600 and set(np.unique(audio)) == {0, 3}


def test_a_part_that_cannot_succeed_stops_the_run_and_keeps_the_finished_ones(tmp_path: Path):
    endpoint = FakeEndpoint({1: "voice_not_found"})
    with TTSClient("http://fake", transport=httpx.MockTransport(endpoint)) as client:
        with pytest.raises(TTSError, match="voice_not_found"):
            render_document(client, DOC, tmp_path / "out.wav", parallel=1, part_chars=100, voice="nobody")
    assert len(endpoint.inputs) == 2 and all(j["voice"] == "nobody" for j in endpoint.inputs)
    manifest = json.loads((tmp_path / "out.wav.manifest.json").read_text())
    assert [p["status"] for p in manifest["parts"][:2]] == ["done", "failed"] and not (tmp_path / "out.wav").exists()
    endpoint.fail.clear()
    with TTSClient("http://fake", transport=httpx.MockTransport(endpoint)) as client:
        result = render_document(client, DOC, tmp_path / "out.wav", parallel=1, part_chars=100, voice="nobody")
    assert result.reused == 1 and result.submitted == 3 and (tmp_path / "out.wav").exists()
