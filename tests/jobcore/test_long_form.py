"""Long text, dialog, timestamps, captions and progress, through the worker on Kokoro."""
import re

import pytest

from tests.support.jobs import error_of
from tests.support.speech import decode_result, median_f0, transcribe, wer

PASSAGE = (
    "On March 3rd, 2021, Dr. Alvarez opened a small bakery on Elm St. in the old part of town. "
    "She borrowed $25,000 from her brother, and she promised to pay him back within 3 years. "
    "The first month was hard. Only 40 customers came in, and most of them bought a single loaf. "
    "By the summer, things had changed. A local newspaper wrote about her cinnamon rolls, and the line "
    "reached the corner by 7:30 every morning. She hired 2 assistants and bought a second oven for $4,800. "
    "Mr. Patel, who owned the hardware store next door, said that his sales rose by 15% that year, "
    "because people waited in line and then wandered into his shop. In the winter of 2022, the bakery "
    "started to sell soup as well. It was a simple recipe: tomatoes, onions, garlic, and a little cream. "
    "The soup cost $6.50 a bowl, and it sold out before noon on most days. By the end of the second year, "
    "Dr. Alvarez had paid back every cent of the loan. Her brother framed the last check and hung it on "
    "his kitchen wall. Today the bakery employs 12 people. It opens at 6 in the morning and closes at 4 "
    "in the afternoon, and on Sundays it gives the unsold bread to the shelter on Fifth Avenue. "
    "People still ask her for the secret of the cinnamon rolls, but she only smiles and tells them to come early. "
    "Last May, a food critic from the city visited twice and gave the bakery 4 stars out of 5. "
    "Since then, visitors have come from as far as 90 miles away, and the line now forms before 7 each day."
)


def test_long_passage_is_spoken_completely(kokoro_worker):
    assert 1400 <= len(PASSAGE) <= 1700
    result = kokoro_worker.handle({"text": PASSAGE, "format": "wav"})
    samples, rate = decode_result(result)
    words = len(PASSAGE.split())
    assert 1.5 < words / (len(samples) / rate) < 4.5          # plausible speaking rate
    assert wer(PASSAGE, transcribe(samples, rate)) <= 0.15


def test_sentence_times_are_monotonic_inside_the_audio_and_captions_parse(kokoro_worker):
    text = "First sentence here. Then a second one! And a third, to finish?"
    for kind, sep in (("srt", ","), ("vtt", ".")):
        result = kokoro_worker.handle({"text": text, "format": "wav", "captions": kind})
        sentences = result["sentences"]
        assert len(sentences) == 3
        ends = [0.0]
        for s in sentences:
            assert ends[-1] <= s["start_s"] < s["end_s"] <= result["duration_s"] + 1e-3
            ends.append(s["end_s"])
        assert abs(sentences[-1]["end_s"] - result["duration_s"]) < 0.01
        cues = re.findall(rf"(\d\d):(\d\d):(\d\d){re.escape(sep)}(\d\d\d) --> (\d\d):(\d\d):(\d\d){re.escape(sep)}(\d\d\d)",
                          result["captions"])
        assert len(cues) == 3
        starts = [int(c[0]) * 3600 + int(c[1]) * 60 + int(c[2]) + int(c[3]) / 1000 for c in cues]
        assert [round(x, 2) for x in starts] == [round(s["start_s"], 2) for s in sentences]
        assert result["captions"].startswith("WEBVTT" if kind == "vtt" else "1\n")


def test_dialog_of_two_voices(kokoro_worker):
    job = {"format": "wav", "gap_s": 0.5, "segments": [
        {"voice": "jf_alpha", "text": "Good morning. Did you sleep well last night?"},
        {"voice": "jm_kumo", "text": "Not really. The neighbours were playing loud music until two."},
        {"voice": "jf_alpha", "text": "That sounds awful. You should talk to them today."},
    ]}
    result = kokoro_worker.handle(job)
    samples, rate = decode_result(result)
    segments = result["segments"]
    assert [s["voice"] for s in segments] == ["jf_alpha", "jm_kumo", "jf_alpha"]
    for before, after in zip(segments, segments[1:]):
        assert before["end_s"] + 0.45 <= after["start_s"]
    assert segments[0]["start_s"] == 0.0 and segments[-1]["end_s"] <= result["duration_s"] + 1e-3
    pitch = [median_f0(samples[int(s["start_s"] * rate):int(s["end_s"] * rate)], rate) for s in segments]
    assert pitch[1] < 0.8 * min(pitch[0], pitch[2]), pitch      # the male voice speaks lower
    assert wer(" ".join(s["text"] for s in job["segments"]), transcribe(samples, rate)) <= 0.15


def test_dialog_with_an_unknown_voice_fails_before_any_audio(kokoro_worker):
    result = kokoro_worker.handle({"segments": [{"voice": "jf_alpha", "text": "Hi."}, {"voice": "ghost", "text": "Boo."}]})
    assert error_of(result)["code"] == "voice_not_found"


def test_progress_is_reported_for_long_jobs(kokoro_worker):
    updates = []
    text = "One. Two is here. Three comes next. Four is last."
    kokoro_worker.handle({"text": text, "format": "wav"}, "job-p", progress=updates.append)
    assert [u["sentences_done"] for u in updates] == [1, 2, 3, 4] and updates[-1]["sentences"] == 4


def test_stream_items_from_the_worker(kokoro_worker):
    items = list(kokoro_worker.stream({"text": "Alpha one. Beta two.", "stream": True, "format": "wav"}))
    assert [i.get("chunk_index") for i in items] == [0, 1, None] and items[-1]["done"]
    assert list(kokoro_worker.stream({"action": "info"}))[0]["backend"] == "kokoro"
    assert "error" in list(kokoro_worker.stream({"text": "x", "stream": True, "format": "webm"}))[0]


def test_text_is_normalized_in_its_language_and_cjk_sentences_split():
    from jobcore.pipeline import prepare_text

    assert prepare_text("He has 3 cats. Really!", 300) == ["He has three cats.", "Really!"]
    assert prepare_text("Il a 3 chats.  Bonjour !", 300, "fr") == ["Il a trois chats.", "Bonjour !"]
    assert prepare_text("今日は晴れです。明日は雨でしょう！", 300, "ja") == ["今日は晴れです。", "明日は雨でしょう！"]


def test_text_that_grows_past_the_limit_when_spoken_is_refused_with_both_sizes():
    from common.errors import TextTooLong
    from jobcore.pipeline import prepare_text

    digits = "1234567 " * 2_500                              # 20,000 characters: within MAX_TEXT_CHARS as written
    with pytest.raises(TextTooLong) as caught:
        prepare_text(digits, 300, max_spoken_chars=20_000)
    assert caught.value.code == "text_too_long"
    assert "grew from 20000 to" in caught.value.message and "limit is 20000" in caught.value.message
    assert len(prepare_text("He has 3 cats.", 300, max_spoken_chars=20)[0]) <= 20    # within the limit: spoken
