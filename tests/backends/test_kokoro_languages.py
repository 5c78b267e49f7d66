"""Kokoro in each language it speaks, judged by ear: the embedded default speaks sentences of our own (with numbers)
and multilingual whisper (base) must hear them back; English through hibari is unchanged."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hibari.g2p import G2P

from backends import kokoro_g2p, kokoro_timing
from backends.kokoro import phoneme_pieces
from jobcore.audio import loud_span
from jobcore.pipeline import prepare_text
from tests.support.jobs import error_of
from tests.support.language_samples import SAMPLES
from tests.support.multilingual import reading_error, transcribe
from tests.support.speech import decode_result

BOUNDS = {"ja": 0.3, "zh": 0.3}            # character error rate; the others: word error rate <= 0.35

# Phonemes of today's English path (hibari through kokoro_timing), recorded before the other languages came in.
ENGLISH = {
    "The meeting moved to 3:30 pm on March 5th, 2025.":
        ["ðə mˈiTɪŋ mˈuvd tə θɹˈi θˈɜɹTi pˌiˈɛm ˌɔn mˈɑɹʧ fˈɪfθ, twˈɛnti twˈɛnti fˈIv."],
    "Dr. Smith paid $12.50 for 2 coffees.": ["dˈɑktəɹ smˈɪθ pˈAd twˈɛlv dˈɑləɹz ænd fˈɪfti sˈɛnts fɔɹ tˈu kˈɔfiz."],
    "Hello there, this is a test of the emergency broadcast system!":
        ["həlˈO ðˈɛɹ, ðɪs ɪz ɐ tˈɛst ʌv ði əmˈɜɹʤənsi bɹˈɔdkˌæst sˈɪstəm!"],
}


@pytest.mark.parametrize("code", list(SAMPLES))
def test_each_language_is_heard_back_on_the_embedded_default(kokoro_worker, code):
    whisper_language, language, text = SAMPLES[code]
    job = {"text": text, "format": "wav", "captions": "srt", **({"language": language} if language else {})}
    result = kokoro_worker.handle(job)
    samples, rate = decode_result(result)
    assert rate == 24_000 and result["duration_s"] > 1.0
    assert "".join(s["text"] for s in result["sentences"]).replace(" ", "") == text.replace(" ", "")  # as written
    assert result["sentences"][0]["text"] in result["captions"]
    heard = transcribe(samples, rate, whisper_language)
    error = reading_error(text, heard, language or whisper_language)
    assert error <= BOUNDS.get(code, 0.35), (code, result["voice"], heard)


def test_english_phonemes_and_audio_are_unchanged(kokoro_worker):
    """Latin text on the bundled voices goes through hibari exactly as before: the same phonemes, and the job's
    audio is the model's output for those phonemes."""
    backend = kokoro_worker.backend
    for text, expected in ENGLISH.items():
        said = prepare_text(text, backend.capabilities.max_chars)
        assert [backend._spoken(s, "en").phonemes for s in said] == expected
        assert [kokoro_timing.phonemize_words(G2P(), s).phonemes for s in said] == expected
    text = "Hello there, this is a test of the emergency broadcast system!"
    for voice in ("jf_tebukuro", "jm_kumo"):
        result = kokoro_worker.handle({"text": text, "voice": voice, "format": "pcm"})
        samples, _ = decode_result(result)
        style = next(v for v in backend.stock_voices() if v.id == voice).embedding["style"]
        (piece,) = phoneme_pieces(ENGLISH[text][0])
        direct = backend.infer(piece, style)
        start, end = loud_span(direct, sample_rate=24_000)        # the pipeline trims silence at the edges
        assert len(samples) == end - start
        expected = np.clip(direct[start:end], -1.0, 1.0)          # 16-bit PCM holds full scale at most
        assert np.abs(samples - expected).max() < 2 / 32768          # the same audio, to 16-bit rounding


def test_info_lists_every_backends_languages_and_bad_languages_are_named(kokoro_worker):
    info = kokoro_worker.handle({"action": "info"})
    assert info["capabilities"]["languages"] == list(kokoro_g2p.LANGUAGES)
    assert "ja" in info["languages"]["xtts"] and info["languages"]["hibari"] == ["en"]
    error = error_of(kokoro_worker.handle({"text": "Guten Tag.", "language": "de"}))
    assert error["code"] == "invalid_input" and "en, en-gb, es, fr, hi, it, ja, pt-br, zh" in error["hint"]


def test_the_openai_route_infers_the_language(kokoro_worker):
    text = SAMPLES["ja"][2]
    result = kokoro_worker.handle({"openai_route": "/v1/audio/speech",
                                   "openai_input": {"model": "tts-1", "input": text, "voice": "nova",
                                                    "response_format": "wav"}})
    samples, rate = decode_result(result)
    assert reading_error(text, transcribe(samples, rate, "ja"), "ja") <= 0.3


def test_start_up_loads_no_other_languages_g2p():
    code = ("import sys; from backends.kokoro import KokoroBackend; b = KokoroBackend.load(None, threads=1); "
            "print(sorted(m for m in ('pyopenjtalk', 'misaki', 'phonemizer', 'jieba', 'espeakng_loader') "
            "if m in sys.modules), b.phonemizers.load_seconds)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] {}"


# A worker whose environment lacks the `languages` extra (an image built with LANGUAGES=en): the packages are made
# unimportable in a fresh process, as if never installed.
WITHOUT_LANGUAGES = """
import importlib.abc, json, sys, tempfile
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'pyopenjtalk', 'misaki', 'phonemizer', 'espeakng_loader', 'jieba', 'pypinyin', 'cn2an'}:
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, Absent())
from common.errors import job_output
from jobcore.settings import Settings
from jobcore.worker import Worker
worker = Worker.from_settings(Settings(voice_library_uri=tempfile.mkdtemp(), warmup=False))
jobs = {"info": {"action": "info"}, "english": {"text": "Hello there, this is English.", "format": "wav"},
        "japanese_by_script": {"text": "今日はいい天気ですね。", "format": "wav"},
        "japanese_asked": {"text": "Konnichiwa.", "language": "ja", "format": "wav"}}
print(json.dumps({name: job_output(worker.handle(job, name, None)) for name, job in jobs.items()}))
"""


def test_without_the_languages_extra_kokoro_speaks_english_and_refuses_the_rest_clearly():
    import json

    run = subprocess.run([sys.executable, "-c", WITHOUT_LANGUAGES], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["info"]["capabilities"]["languages"] == ["en", "en-gb"]
    samples, rate = decode_result(out["english"])
    assert rate == 24_000 and out["english"]["duration_s"] > 1.0
    for name in ("japanese_by_script", "japanese_asked"):
        error = error_of(out[name])
        assert error["code"] == "invalid_input" and "en, en-gb" in error["hint"], (name, error)
