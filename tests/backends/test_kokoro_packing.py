"""Several Kokoro sentences in one call: packed within the context, cut back per sentence where the words are."""
from __future__ import annotations

import numpy as np
import pytest

from backends.kokoro import MAX_TOKENS, SAMPLE_RATE
from backends.kokoro_packing import groups, synthesize_packed, token_count
from backends.kokoro_timing import Spoken
from jobcore.pipeline import prepare_text
from tests.support.speech import transcribe, wer

VOCAB = {c: i for i, c in enumerate(" .,!?abcdefghijklmnopqrstuvwxyz", start=1)}
SENTENCES = ["The old lighthouse stood on a rock above the bay.",
             "Every evening the keeper climbed its narrow stairs.",
             "Ships passed safely through the fog.",
             "In the morning he wrote the weather in a small book."]


def spoken(*texts: str) -> list[Spoken]:
    return [Spoken(t, []) for t in texts]


def test_groups_keep_order_and_fit_the_context():
    sentences = spoken(*(f"{'a' * n}." for n in (120, 80, 300, 40, 40, 500, 10, 200, 90)))
    calls = groups(sentences, VOCAB, MAX_TOKENS)
    assert [i for call in calls for i in call] == list(range(len(sentences)))
    for call in calls:
        assert all(b == a + 1 for a, b in zip(call, call[1:]))
        assert sum(token_count(sentences[i].phonemes, VOCAB) for i in call) + len(call) - 1 <= MAX_TOKENS
    assert len(calls) < len(sentences)
    assert [5] in calls                        # 501 tokens: nothing else fits beside it


def test_a_sentence_over_the_context_is_a_call_of_its_own():
    sentences = spoken("ab.", "a" * 700, "cd.")
    assert groups(sentences, VOCAB, MAX_TOKENS) == [[0], [1], [2]]


def test_a_sentence_without_an_ending_is_not_run_into_the_next():
    sentences = spoken("chapter one", "it was a cold night.", "the wind blew.", "heading", "more text.")
    calls = groups(sentences, VOCAB, MAX_TOKENS)
    assert calls == [[0], [1, 2, 3], [4]]


def test_groups_are_even_for_several_workers():
    sentences = spoken(*(["a" * 60 + "."] * 12))
    calls = groups(sentences, VOCAB, MAX_TOKENS, parts=2)
    assert len(calls) % 2 == 0 and len(calls) >= 2
    sizes = [len(call) for call in calls]
    assert max(sizes) - min(sizes) <= 1
    assert groups([], VOCAB, MAX_TOKENS, parts=2) == []


def test_a_text_just_over_two_contexts_is_cut_evenly_not_with_a_small_tail():
    sentences = spoken(*(["a" * 99 + "."] * 11))        # 1,111 tokens with the spaces: three calls' worth
    calls = groups(sentences, VOCAB, MAX_TOKENS, parts=2)
    assert len(calls) == 4
    assert max(len(c) for c in calls) - min(len(c) for c in calls) <= 1


@pytest.fixture(scope="module")
def packed(kokoro_worker):
    backend = kokoro_worker.backend
    if not backend.timed:
        pytest.skip("this graph gives no durations to cut at")
    style = next(v for v in backend.stock_voices() if v.id == "jf_tebukuro").embedding["style"]
    sentences = [backend._spoken(s) for s in SENTENCES]
    joined = synthesize_packed(sentences, lambda p: backend.infer_timed(p, style, 1.0), backend.vocab, SAMPLE_RATE)
    alone = [backend._chunks(s, style, 1.0, backend.session) for s in sentences]
    return joined, alone


def test_each_packed_sentence_is_cut_where_its_own_words_are(packed):
    joined, _ = packed
    assert len(joined) == len(SENTENCES) and all(len(chunks) == 1 for chunks in joined)
    for sentence, (chunk,) in zip(SENTENCES, joined):
        heard = transcribe(chunk.audio, chunk.sample_rate)
        assert wer(sentence, heard) <= 0.2, (sentence, heard)     # its own words, none of its neighbours'


def test_packed_sentences_last_about_as_long_as_alone(packed):
    joined, alone = packed
    for (a,), (b,) in zip(joined, alone):
        assert 0.8 <= a.duration_s / b.duration_s <= 1.2


def test_packed_word_timings_are_each_sentences_own(packed):
    joined, alone = packed
    for (a,), (b,) in zip(joined, alone):
        assert [w.word for w in a.words] == [w.word for w in b.words]
        starts = [w.start_s for w in a.words]
        assert starts == sorted(starts) and all(w.start_s <= w.end_s <= a.duration_s + 1e-3 for w in a.words)
        # the model says each word at about the same place in the sentence as when the sentence is alone
        assert abs(a.words[-1].end_s - b.words[-1].end_s) < 0.25 * b.duration_s


def test_a_long_text_comes_back_one_entry_per_sentence_in_order(kokoro_worker):
    backend = kokoro_worker.backend
    voice = kokoro_worker.library.embedding("jf_tebukuro", backend.embedding_key)
    texts = prepare_text(" ".join(SENTENCES * 3) + " Heading without a stop", backend.capabilities.max_chars)
    packing, backend.packing = backend.packing, True
    try:
        out = list(backend.synthesize_many(texts, voice))
    finally:
        backend.packing = packing
    assert len(out) == len(texts)
    audio = np.concatenate([c.audio for chunks in out for c in chunks])
    assert wer(" ".join(texts), transcribe(audio, SAMPLE_RATE)) <= 0.15
