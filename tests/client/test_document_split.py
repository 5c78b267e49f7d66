"""Splitting documents into jobs, and laying the parts out on one timeline (no server needed)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

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
