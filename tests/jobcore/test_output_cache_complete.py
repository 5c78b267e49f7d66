"""The output cache key is complete: whenever two synthesize jobs' audio or result description differ, their keys
differ (a property test over every field of the request); identical jobs still hit. On a real S3 server, the
attacks that used to get another request's audio back (requested speed, timestamps, written text) now miss."""
from __future__ import annotations

import base64
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from jobcore.output_cache import EmbeddingDigests, output_key
from jobcore.schema import SynthesizeRequest
from jobcore.worker import Worker
from tests.support.seaweed import s3_settings

POOLS = {
    "text": ["Dr. Smith paid $5.", "Doctor Smith paid five dollars.", "Dr.  Smith paid $5. ", "Hello there. Bye."],
    "voice": [None, "heart"],
    "format": [None, "mp3", "wav", "flac"],
    "sample_rate": [None, 24000, 16000],
    "speed": [1.0, 0.5, 0.25, 2.0, 4.0, 1.1],
    "seed": [None, 3],
    "captions": [None, "srt", "vtt"],
    "timestamps": ["sentence", "word"],
    "gap_s": [0.4, 0.0],
    "segments": [None, [{"text": "Hi there."}, {"text": "Hello.", "speed": 0.5}], [{"text": "Hi there."},
                                                                                   {"text": "Hello."}]],
    "output": ["auto", "base64"],
    "model": [None, "tts-1"],
}


def job(values: dict) -> dict:
    out = {k: v for k, v in values.items() if v is not None}
    if "segments" in out:
        out.pop("text")
    return out


def key(worker, digests, values: dict) -> str:
    plan = worker.synthesis.plan(SynthesizeRequest.model_validate(job(values)))
    return output_key(plan, worker.backend, worker.settings.sentence_pause_s, digests)


def rendered(worker, values: dict) -> tuple[bytes, dict]:
    result = worker.handle({**job(values), "output": "base64", "cache": False})
    assert "error" not in result, result
    result.pop("timings_ms")
    return base64.b64decode(result.pop("audio_base64")), result


jobs = st.fixed_dictionaries({name: st.sampled_from(pool) for name, pool in POOLS.items()})
changes = st.lists(st.sampled_from(sorted(POOLS)), min_size=1, max_size=3, unique=True)
BASE = {name: pool[0] for name, pool in POOLS.items()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=jobs, fields=changes, data=st.data())
@example(a={**BASE, "speed": 0.5}, fields=["speed"], data=None)              # the speeds Kokoro clamps
@example(a={**BASE, "speed": 2.0}, fields=["speed"], data=None)
@example(a=BASE, fields=["timestamps"], data=None)
@example(a=BASE, fields=["text"], data=None)                                 # "Doctor ... five dollars"
def test_different_results_never_share_a_key(hibari_worker, a, fields, data):
    digests = EmbeddingDigests()
    if data is None:       # the explicit examples: the next value of each named field
        b = {**a, **{f: POOLS[f][(POOLS[f].index(a[f]) + 1) % len(POOLS[f])] for f in fields}}
        if fields == ["speed"]:
            b["speed"] = a["speed"] / 2
    else:
        b = {**a, **{f: data.draw(st.sampled_from(POOLS[f]), label=f) for f in fields}}
    key_a = key(hibari_worker, digests, a)
    assert key(hibari_worker, EmbeddingDigests(), a) == key_a          # identical jobs: the same key
    if key(hibari_worker, digests, b) == key_a:                        # a shared key must mean the same result
        assert rendered(hibari_worker, a) == rendered(hibari_worker, b), (a, b)


@pytest.fixture
def cached_worker(kokoro_worker, seaweed):
    settings = s3_settings(kokoro_worker.settings, seaweed, f"ocx-{uuid.uuid4().hex[:16]}")
    return Worker.from_settings(settings, backend=kokoro_worker.backend)


def test_the_reported_attacks_miss_and_repeats_hit(cached_worker):
    slow = cached_worker.handle({"text": "A sentence to say slowly.", "speed": 0.5, "format": "wav"})
    slower = cached_worker.handle({"text": "A sentence to say slowly.", "speed": 0.25, "format": "wav"})
    assert slow["cached"] is False and slower["cached"] is False
    assert slower["duration_s"] > 1.6 * slow["duration_s"]
    again = cached_worker.handle({"text": "A sentence to say slowly.", "speed": 0.25, "format": "wav"})
    assert again["cached"] is True and again["duration_s"] == slower["duration_s"]

    plain = cached_worker.handle({"text": "Words with times.", "format": "wav"})
    worded = cached_worker.handle({"text": "Words with times.", "format": "wav", "timestamps": "word"})
    assert "words" not in plain and worded["cached"] is False and len(worded["words"]) == 3

    cached_worker.handle({"text": "Dr. Smith paid $5.", "format": "wav", "captions": "srt"})
    spelled = cached_worker.handle({"text": "Doctor Smith paid five dollars.", "format": "wav", "captions": "srt"})
    assert spelled["cached"] is False
    assert spelled["sentences"][0]["text"] == "Doctor Smith paid five dollars."
    assert "Doctor Smith paid five dollars." in spelled["captions"]
