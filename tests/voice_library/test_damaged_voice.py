"""A damaged voice.json on a real S3 server (SeaweedFS) never takes the library down: it is skipped by
voices.list (counted in info), other voices resolve by id and name, and voices.delete removes it."""
from __future__ import annotations

import uuid

import pytest

from jobcore.worker import Worker
from tests.support.jobs import error_of
from tests.support.seaweed import s3_settings

DAMAGED = [
    b'{"id": "poison", "name": "poison", "blend": {"jf_alpha": null, "jm_kumo": 1.0}, "source": "blend"}',  # old NaN
    b"\x00\xff not json at all",
    b'{"name": 42}',
]


@pytest.fixture
def s3_worker(kokoro_worker, seaweed):
    settings = s3_settings(kokoro_worker.settings, seaweed, f"d-{uuid.uuid4().hex[:16]}")
    return Worker.from_settings(settings, backend=kokoro_worker.backend)


@pytest.mark.parametrize("body", DAMAGED, ids=["null-weight", "garbage", "wrong-types"])
def test_a_damaged_voice_json_is_skipped_counted_and_deletable(s3_worker, body):
    created = s3_worker.handle({"action": "voices.create", "name": "Good Mix", "blend": {"jf_alpha": 1, "jm_kumo": 1}})
    assert created["voice"]["usable"], created
    store = s3_worker.library.store
    store.write("voices/poison/voice.json", body, "application/json")           # put there behind the API's back
    store.write("voices/poison/embeddings/kokoro@x.safetensors", b"junk", "application/octet-stream")

    listed = s3_worker.handle({"action": "voices.list"})
    assert "error" not in listed, listed
    ids = {v["id"] for v in listed["voices"]}
    assert "good-mix" in ids and "jf_alpha" in ids and "poison" not in ids
    info = s3_worker.handle({"action": "info"})
    assert info["damaged_voices"] == 1 and info["voice_count"] == len(ids)

    for ref in ("good-mix", "Good Mix", "jm_kumo"):                             # by id and by name
        result = s3_worker.handle({"text": "Still speaking.", "voice": ref, "format": "wav"})
        assert "error" not in result and result["duration_s"] > 0.5, (ref, result)
    again = s3_worker.handle({"action": "voices.create", "name": "Other Mix", "blend": {"jf_alpha": 1, "jm_kumo": 2}})
    assert again["voice"]["id"] == "other-mix"

    error = error_of(s3_worker.handle({"text": "Hi.", "voice": "poison"}))
    assert error["code"] == "storage_unavailable" and "poison" in error["message"] and "delete" in error["hint"]

    assert s3_worker.handle({"action": "voices.delete", "voice": "poison"}) == {"deleted": "poison"}
    assert store.list("voices/poison/") == []
    assert s3_worker.handle({"action": "info"})["damaged_voices"] == 0
    assert error_of(s3_worker.handle({"text": "Hi.", "voice": "poison"}))["code"] == "voice_not_found"
