"""Exact Kokoro word timestamps: from the graph's durations, shifted onto the joined audio, checked by whisper."""
from __future__ import annotations

import difflib
import re

import numpy as np
import onnx
import pytest

from backends.kokoro import read_bundled_model
from backends.kokoro_timing import DURATION_TENSOR, SAMPLES_PER_FRAME, duration_output, find_duration_tensor
from jobcore import audio as audio_mod
from jobcore.text import normalize
from tests.support.speech import decode_result, whisper

PASSAGE = ("On March 3rd, 2024, the ferry left the harbor at 7:45 with 312 passengers aboard. "
           "The sea was calm, and the captain expected to arrive in about 90 minutes. "
           "Nobody guessed that the engine would stop halfway across the bay.")


def _key(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def test_duration_fragment_is_the_onnx_output_declaration():
    expected = onnx.ModelProto(graph=onnx.GraphProto(output=[
        onnx.helper.make_tensor_value_info(DURATION_TENSOR, onnx.TensorProto.FLOAT, None)]))
    assert duration_output() == expected.SerializeToString()


def test_the_bundled_graph_has_the_duration_tensor_by_structure():
    assert find_duration_tensor(read_bundled_model()[0]) == DURATION_TENSOR


def test_durations_account_for_every_sample_at_any_speed(kokoro_worker):
    backend = kokoro_worker.backend
    style = backend.stock_voices()[0].embedding["style"]
    for speed in (0.8, 1.0, 1.5):
        audio, durations = backend.infer_timed(backend.phonemize("Twelve quiet boats."), style, speed)
        assert durations is not None and audio.size == int(durations.sum()) * SAMPLES_PER_FRAME


@pytest.fixture(scope="module")
def timed(kokoro_worker):
    result = kokoro_worker.handle({"text": PASSAGE, "format": "wav", "timestamps": "word", "captions": "vtt",
                                   "voice": "jf_tebukuro"})
    samples, rate = decode_result(result)
    return result, samples, rate


def test_word_timestamps_are_monotonic_inside_the_audio_one_per_word(timed):
    result, samples, rate = timed
    words = result["words"]
    # words are what was spoken ("third"); sentences show the text as written ("3rd")
    spoken = [w for s in result["sentences"] for w in re.findall(r"[\w'’.-]*\w[\w'’]*", normalize(s["text"]))]
    assert [w["word"] for w in words] == spoken
    starts = [w["start_s"] for w in words]
    assert all(a <= b for a, b in zip(starts, starts[1:]))
    assert all(0 <= w["start_s"] < w["end_s"] <= len(samples) / rate + 1e-3 for w in words)
    assert all(prev["end_s"] <= nxt["start_s"] + 1e-3 for prev, nxt in zip(words, words[1:]))


def test_word_timestamps_agree_with_whisper_within_80_ms(timed):
    result, samples, rate = timed
    ours = result["words"]
    segments, _ = whisper().transcribe(audio_mod.resample(samples, rate, 16_000), language="en", beam_size=1,
                                       word_timestamps=True, condition_on_previous_text=False)
    heard = [w for s in segments for w in s.words]
    matcher = difflib.SequenceMatcher(a=[_key(w["word"]) for w in ours], b=[_key(w.word) for w in heard],
                                      autojunk=False)
    diffs = [abs(ours[b.a + k][edge] - getattr(heard[b.b + k], edge[:-2]))
             for b in matcher.get_matching_blocks() for k in range(b.size) for edge in ("start_s", "end_s")]
    assert len(diffs) >= 2 * 20, "whisper should hear most of the passage"
    assert np.median(diffs) <= 0.080, f"median boundary difference {np.median(diffs) * 1e3:.0f} ms"


def test_word_captions_parse_as_one_cue_per_word(timed):
    result, _, _ = timed
    vtt = result["captions"]
    assert vtt.startswith("WEBVTT\n\n")
    cues = vtt.strip().split("\n\n")[1:]
    assert len(cues) == len(result["words"])
    for cue, word in zip(cues, result["words"]):
        stamp, text = cue.split("\n")
        m = re.fullmatch(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})", stamp)
        assert m and text == word["word"]
        h, mi, s, ms = map(int, m.groups()[:4])
        assert abs(h * 3600 + mi * 60 + s + ms / 1000 - word["start_s"]) < 0.002


def test_word_srt_and_streamed_chunks_carry_words(kokoro_worker):
    items = list(kokoro_worker.stream({"text": "First line here. Second line there.", "format": "wav",
                                       "timestamps": "word", "captions": "srt", "stream": True}))
    chunks, summary = items[:-1], items[-1]
    assert [w["word"] for c in chunks for w in c["words"]] == ["First", "line", "here", "Second", "line", "there"]
    for chunk in chunks:
        assert all(0 <= w["start_s"] < w["end_s"] <= chunk["duration_s"] + 1e-3 for w in chunk["words"])
    assert summary["captions"].startswith("1\n00:00:") and summary["captions"].count(" --> ") == 6
    assert [w["word"] for w in summary["words"]] == ["First", "line", "here", "Second", "line", "there"]


def test_sentence_timestamps_by_default_carry_no_words(kokoro_worker):
    result = kokoro_worker.handle({"text": "Just one sentence.", "format": "wav"})
    assert "words" not in result and result["sentences"]
