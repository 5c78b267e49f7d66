"""Two workers' libraries on one SeaweedFS bucket: a create overtaken past the lock TTL, a delete racing a re-create."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from common.errors import VoiceExists
from voice_library import ByteLRU, VoiceLibrary, VoiceMeta
from voice_library.library import load_embedding, voice_key

BACKEND = "kokoro@test"
TTL_S = 0.5


class Held:
    """A store wrapper that stops before one operation (`op` on a key ending with `suffix`) until released."""

    def __init__(self, store, op: str, suffix: str):
        self.store, self.op, self.suffix = store, op, suffix
        self.reached, self.go = threading.Event(), threading.Event()

    def __getattr__(self, name):
        attr = getattr(self.store, name)
        if name != self.op:
            return attr

        def held(key, *args, **kwargs):
            if key.endswith(self.suffix) and not self.reached.is_set():
                self.reached.set()
                assert self.go.wait(30)
            return attr(key, *args, **kwargs)
        return held


def library(store) -> VoiceLibrary:
    return VoiceLibrary(store, ByteLRU(10_000_000), ttl_s=0.0, lock_ttl_s=TTL_S)


def request(tag: float):
    """One request's voice: metadata, clip and embedding all carrying the same tag, so a mix shows."""
    meta = VoiceMeta(id="shared", name="Shared", description=f"request {tag}")
    clip = f"clip of request {tag}".encode()
    return meta, clip, {BACKEND: {"style": np.full((1, 256), tag, np.float32)}}


def objects(store) -> list[str]:
    return [k.removeprefix("voices/shared/") for k in store.list("voices/shared/")]


def assert_whole_or_absent(store):
    keys = objects(store)
    if not keys:
        return None
    assert keys == ["embeddings/kokoro@test.safetensors", "reference.flac", "voice.json"]
    meta = VoiceMeta.model_validate_json(store.read(voice_key("shared", "voice.json")).data)
    tag = float(meta.description.split()[-1])
    assert store.read(voice_key("shared", "reference.flac")).data == f"clip of request {tag}".encode()
    style = load_embedding(store.read(voice_key("shared", "embeddings/kokoro@test.safetensors")).data)["style"]
    assert np.all(style == tag)
    return tag


def run(target, *args):
    outcome = {}

    def body():
        try:
            outcome["value"] = target(*args)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcome["error"] = exc
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome


def test_a_create_overtaken_past_the_lock_ttl_cannot_mix_its_objects_into_the_winner(s3_store):
    slow = Held(s3_store, "write", ".safetensors")        # A stalls after its clip, before its embedding
    thread, outcome = run(library(slow).create, *request(1.0))
    assert slow.reached.wait(30)
    time.sleep(TTL_S + 0.2)                               # A's lock is now stale
    library(s3_store).create(*request(2.0))               # B takes over and finishes
    slow.go.set()
    thread.join(30)
    assert isinstance(outcome.get("error"), VoiceExists)  # A learns it lost; it did not write
    assert assert_whole_or_absent(s3_store) == 2.0        # B's voice, B's clip, B's embedding
    assert ".creating" not in objects(s3_store)           # B released its lock; A did not delete it


def test_a_late_lock_release_leaves_the_new_owners_lock_in_place(s3_store):
    slow = Held(s3_store, "write", ".safetensors")
    thread, outcome = run(library(slow).create, *request(1.0))
    assert slow.reached.wait(30)
    time.sleep(TTL_S + 0.2)
    taker = Held(s3_store, "write", "voice.json")         # B takes over, then stalls before voice.json
    b_thread, b_outcome = run(library(taker).create, *request(2.0))
    assert taker.reached.wait(30)
    slow.go.set()
    thread.join(30)                                       # A gives up and releases... only its own lock
    assert ".creating" in objects(s3_store)
    assert isinstance(outcome.get("error"), VoiceExists)
    taker.go.set()
    b_thread.join(30)
    assert "error" not in b_outcome and assert_whole_or_absent(s3_store) == 2.0


@pytest.mark.parametrize("suffix", ["voice.json", ".safetensors"])
def test_a_delete_racing_a_re_create_leaves_a_whole_voice_or_none(s3_store, suffix):
    library(s3_store).create(*request(1.0))
    slow = Held(s3_store, "delete", suffix)               # the delete stalls part-way
    thread, outcome = run(library(slow).delete, "shared")
    assert slow.reached.wait(30)
    try:
        library(s3_store).create(*request(2.0))           # a re-create while the delete is half done
    except VoiceExists:
        pass
    slow.go.set()
    thread.join(30)
    assert "error" not in outcome
    tag = assert_whole_or_absent(s3_store)
    assert tag in (None, 2.0)
    assert ".creating" not in objects(s3_store)
