"""The output cache key: the same job gives the same key; anything that changes the audio changes it."""
from jobcore.output_cache import EmbeddingDigests, cacheable, output_key
from jobcore.schema import SynthesizeRequest

BASE = {"text": "Dr. Smith paid $5 on 3/4.", "format": "mp3"}


def key_of(worker, digests, **changes):
    plan = worker.synthesis.plan(SynthesizeRequest.model_validate({**BASE, **changes}))
    return output_key(plan, worker.backend, worker.settings.sentence_pause_s, digests)


def test_the_key_follows_what_decides_the_bytes(kokoro_worker):
    digests = EmbeddingDigests()
    base = key_of(kokoro_worker, digests)
    assert key_of(kokoro_worker, digests) == base
    assert key_of(kokoro_worker, digests, text="Dr.  Smith paid $5 on 3/4. ") == base      # same spoken sentences
    assert key_of(kokoro_worker, digests, output="url", model="tts-1") == base             # delivery only
    changed = [key_of(kokoro_worker, digests, **c) for c in (
        {"voice": "jm_kumo"}, {"speed": 1.1}, {"format": "wav"}, {"sample_rate": 16000}, {"captions": "srt"},
        {"seed": 3}, {"text": "Dr. Smith paid $6 on 3/4."})]
    assert len({base, *changed}) == len(changed) + 1


def test_only_deterministic_plans_are_cacheable(hibari_worker, monkeypatch):
    from dataclasses import replace

    backend = hibari_worker.backend
    plan = hibari_worker.synthesis.plan(SynthesizeRequest.model_validate(BASE))
    seeded = hibari_worker.synthesis.plan(SynthesizeRequest.model_validate({**BASE, "seed": 1}))
    assert cacheable(plan, backend)
    monkeypatch.setattr(backend, "capabilities", replace(backend.capabilities, deterministic=False))
    assert not cacheable(plan, backend) and cacheable(seeded, backend)
