"""A batch is bounded as a whole: its items' spoken size shares one budget (MAX_BATCH_CHARS, in info), refused
before any synthesis; and items are finished (encoded, written into the ZIP) a window at a time, not all held."""
from __future__ import annotations

import base64
import io
import json
import zipfile
from dataclasses import replace

import pytest

from jobcore.worker import Worker
from tests.support.jobs import error_of


def test_the_whole_batch_shares_one_spoken_budget_checked_before_synthesis(hibari_worker, monkeypatch):
    monkeypatch.setattr(hibari_worker.backend, "synthesize_many", lambda *a, **k: pytest.fail("synthesized"))
    limit = hibari_worker.settings.max_batch_chars
    assert hibari_worker.handle({"action": "info"})["limits"]["max_batch_chars"] == limit
    item = "Every item is short enough on its own to pass. " * 400          # 19,200 characters
    count = limit // len(item) + 1
    assert len(item) < hibari_worker.settings.max_text_chars and count <= hibari_worker.settings.max_batch_items
    result = hibari_worker.handle({"batch": [{"text": item} for _ in range(count)], "zip": True})
    error = error_of(result)
    assert error["code"] == "text_too_long" and str(limit) in error["message"] and "MAX_BATCH_CHARS" in error["hint"]
    storm = {"text": "XQZV " * 1500}      # 7,500 characters each, 45,000 in all, but spoken like 117,000
    result = hibari_worker.handle({"batch": [storm] * 6})
    assert error_of(result)["code"] == "text_too_long"


def test_items_are_finished_window_by_window(hibari_worker, monkeypatch):
    worker = Worker(replace(hibari_worker.settings), hibari_worker.backend, hibari_worker.library)
    events, real_synth, real_serve = [], worker.backend.synthesize_many, worker.outputs.serve

    def synthesize_many(texts, *args, **kwargs):
        events.append(("synth", [t for t in texts]))
        return real_synth(texts, *args, **kwargs)

    def serve(planned, job, render):
        out = real_serve(planned, job, render)
        events.append(("served", planned.name))
        return out

    monkeypatch.setattr(worker.backend, "synthesize_many", synthesize_many)
    monkeypatch.setattr(worker.outputs, "serve", serve)
    items = [{"text": f"Item number {i} speaks.", "format": "wav"} for i in range(12)]
    result = worker.handle({"batch": items, "zip": True, "output": "base64"})
    assert result["failed"] == 0
    first_served = events.index(("served", "item-000.wav"))
    late_synth = next(i for i, e in enumerate(events) if e[0] == "synth" and any("eleven" in t for t in e[1]))
    assert first_served < late_synth          # item 0 was finished before item 11 was synthesized
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(result["zip"]["zip_base64"])))
    names = archive.namelist()
    assert names == [f"{i:03d}.wav" for i in range(12)] + ["index.json"]
    assert [r["index"] for r in json.loads(archive.read("index.json"))] == list(range(12))
