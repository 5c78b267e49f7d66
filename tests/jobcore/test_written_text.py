"""Captions and sentence timings show the text as the user wrote it; the backend gets the spoken form."""
from __future__ import annotations

from jobcore.pipeline import prepare_sentences

TEXT = "It costs $12.50 today. Dr. Smith lives at 221B Baker St. in London!"


def test_each_spoken_sentence_keeps_its_written_form():
    assert prepare_sentences(TEXT, 300) == [
        ("It costs twelve dollars and fifty cents today.", "It costs $12.50 today."),
        ("Doctor Smith lives at two hundred and twenty one B Baker Street in London!",
         "Dr. Smith lives at 221B Baker St. in London!")]


def test_a_long_sentence_shares_its_written_words_among_its_chunks():
    text = ("In 2024, the company paid $1,250,000 to 3 vendors, and it also shipped 15,000 units to 42 countries, "
            "with revenue up 12% on the prior year.")
    pairs = prepare_sentences(text, 60)
    assert all(len(spoken) <= 60 for spoken, _ in pairs)
    assert " ".join(written for _, written in pairs) == text            # every written word once, in order
    assert ("the company paid one million two hundred and fifty thousand", "the company paid $1,250,000") in pairs


def test_captions_timings_and_stream_show_the_written_text(kokoro_worker):
    result = kokoro_worker.handle({"text": TEXT, "voice": "jm_kumo", "format": "wav", "captions": "srt"})
    assert [s["text"] for s in result["sentences"]] == ["It costs $12.50 today.",
                                                        "Dr. Smith lives at 221B Baker St. in London!"]
    assert "$12.50" in result["captions"] and "twelve" not in result["captions"]
    items = list(kokoro_worker.stream({"text": TEXT, "voice": "jm_kumo", "format": "pcm", "stream": True}))
    assert items[0]["text"] == "It costs $12.50 today." and items[-1]["sentences"] == result["sentences"]
