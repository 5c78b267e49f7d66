"""Speech through the worker on the real CPU backends, judged by whisper tiny.en."""
import numpy as np
import pytest

from tests.support.speech import decode_result, transcribe, wer

SENTENCES = [
    "Dr. Smith paid $12.50 for 3 books on Jan. 5th, 2024.",
    "The meeting starts at 7:45 pm on Main St. and about 50% of the 1,250 members will attend.",
    "Mr. Jones moved to St. Louis in 1999 and lives at number 42.",
]


@pytest.mark.parametrize("text", SENTENCES)
def test_kokoro_speaks_numbers_currency_dates_and_abbreviations(kokoro_worker, text):
    result = kokoro_worker.handle({"text": text, "format": "wav"})
    samples, rate = decode_result(result)
    assert rate == 24_000 and result["backend"] == "kokoro"
    assert abs(len(samples) / rate - result["duration_s"]) < 0.01
    heard = transcribe(samples, rate)
    assert wer(text, heard) <= 0.15, heard


@pytest.mark.parametrize("text", SENTENCES)
def test_hibari_speaks_numbers_currency_dates_and_abbreviations(hibari_worker, text):
    result = hibari_worker.handle({"text": text, "format": "flac", "voice": "heart"})
    samples, rate = decode_result(result)
    assert rate == 24_000 and result["voice"] == "heart"
    heard = transcribe(samples, rate)
    assert wer(text, heard) <= 0.15, heard


def test_duration_is_plausible_for_the_word_count(kokoro_worker):
    text = "This sentence has exactly nine words in it, friend."
    samples, rate = decode_result(kokoro_worker.handle({"text": text, "format": "wav"}))
    words_per_second = 9 / (len(samples) / rate)
    assert 1.2 < words_per_second < 5.0


def test_speed_changes_duration(kokoro_worker):
    text = "Speaking faster makes the audio shorter than before."
    slow = decode_result(kokoro_worker.handle({"text": text, "format": "wav", "speed": 0.8}))[0]
    fast = decode_result(kokoro_worker.handle({"text": text, "format": "wav", "speed": 1.5}))[0]
    assert len(fast) < 0.75 * len(slow)


def test_same_job_twice_gives_identical_audio(kokoro_worker, hibari_worker):
    for worker in (kokoro_worker, hibari_worker):
        job = {"text": "Repeatable output, please.", "format": "wav"}
        first, second = decode_result(worker.handle(job))[0], decode_result(worker.handle(job))[0]
        assert np.array_equal(first, second)


def test_stock_voices_sound_different(kokoro_worker):
    job = {"text": "Two voices read the same words.", "format": "wav"}
    a = decode_result(kokoro_worker.handle({**job, "voice": "jf_alpha"}))[0]
    b = decode_result(kokoro_worker.handle({**job, "voice": "jm_kumo"}))[0]
    assert len(a) != len(b) or not np.allclose(a, b, atol=1e-3)


def test_sentences_synthesized_in_parallel_keep_order_and_sound(kokoro_worker):
    """Kokoro runs sentences after the first one per core; each must match its own sequential synthesis."""
    backend = kokoro_worker.backend
    if backend._pool is None:
        pytest.skip("a single core: sentences run one after another")
    texts = ["One short line.", "A second, somewhat longer sentence follows it here.", "Third.",
             "And the fourth one closes the list."]
    voice = kokoro_worker.library.embedding("jf_alpha", backend.embedding_key)
    packing, backend.packing = backend.packing, False   # one call per sentence; packed: test_kokoro_packing.py
    try:
        parallel = [np.concatenate([c.audio for c in chunks]) for chunks in backend.synthesize_many(texts, voice)]
    finally:
        backend.packing = packing
    sequential = [np.concatenate([c.audio for c in backend.synthesize(t, voice)]) for t in texts]
    assert len(parallel) == len(texts)
    for a, b in zip(parallel, sequential):
        assert abs(len(a) - len(b)) <= 0.01 * len(b)
        n = min(len(a), len(b))
        assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.99
