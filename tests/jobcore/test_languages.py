"""Which language a job is spoken in, and text handling per language (no model: fast)."""
from __future__ import annotations

import numpy as np
import pytest

from backends import backend_class
from backends.base import AudioChunk, Backend
from common.errors import InvalidInput
from jobcore import languages
from jobcore.pipeline import prepare_sentences
from jobcore.schema import SynthesizeRequest
from jobcore.settings import Settings
from jobcore.synthesis import Synthesis
from jobcore.text import chunk_text, split_sentences
from jobcore.text_languages import normalize_language
from jobcore.voices import Voices
from storage import open_store
from voice_library import ByteLRU, VoiceLibrary, VoiceMeta

KOKORO = backend_class("kokoro").capabilities.languages


@pytest.mark.parametrize("text, voice, expected", [
    ("今日はいい天気ですね。", None, "ja"),                     # kana
    ("東京タワーへ行きました。", None, "ja"),
    ("今天天气很好。", None, "zh"),                             # Han only
    ("天気", "ja", "ja"),                                       # Han only, with a Japanese voice
    ("मेरा नाम राम है।", None, "hi"),                           # Devanagari
    ("Hola, ¿cómo estás?", "es", "es"),                         # Latin: the voice's language
    ("Hello there.", "ja", "en"),                               # Latin with a Japanese voice: English
    ("Hello there.", None, "en"),
    ("I love 寿司 and ramen.", "en", "en"),                     # mostly Latin: English
    ("新しいiPhoneを買いました。", None, "ja"),                 # mostly Japanese with a brand name
    ("我买了一个iPhone。", None, "zh"),
    ("Bonjour.", "en-gb", "en-gb"),                             # Latin: the voice's English variant
])
def test_the_script_then_the_voice_choose_the_language(text, voice, expected):
    assert languages.choose(text, KOKORO, "kokoro", voice_language=voice) == expected


def test_a_requested_language_wins_and_must_be_spoken():
    assert languages.choose("今天天气很好。", KOKORO, "kokoro", requested="ja") == "ja"
    assert languages.choose("Hola", KOKORO, "kokoro", requested="PT_br") == "pt-br"
    with pytest.raises(InvalidInput) as err:
        languages.choose("Hallo", KOKORO, "kokoro", requested="de")
    assert "'de'" in err.value.message and "en, en-gb, es, fr, hi, it, ja, pt-br, zh" in err.value.hint


@pytest.mark.parametrize("code, declared, expected", [
    ("pt", KOKORO, "pt-br"), ("zh", ("en", "zh-cn"), "zh-cn"), ("zh-CN", KOKORO, "zh"), ("en-US", KOKORO, "en"),
    ("en-gb", ("en",), "en"), ("pt-br", ("en", "pt"), "pt"), ("de", KOKORO, None),
    ("en", ("en-us", "en-gb"), "en-us"), ("zh", ("zh-tw", "zh-hk"), None),
])
def test_language_codes_match_the_backends_spelling(code, declared, expected):
    assert languages.match(code, declared) == expected


def test_han_is_japanese_only_for_a_japanese_voice_the_job_chose():
    assert languages.choose("天気", KOKORO, "kokoro", voice_language="ja", voice_chosen=False) == "zh"


def test_a_script_the_backend_does_not_speak_is_refused_before_synthesis():
    """No guess in another language (an English G2P or tokenizer would read Japanese as nothing, or as noise)."""
    with pytest.raises(InvalidInput) as refused:
        languages.choose("今日はいい天気ですね。", ("en", "en-gb"), "kokoro")
    assert "'ja'" in str(refused.value) and "en, en-gb" in refused.value.hint
    assert languages.choose("Привет, мир.", ("en", "ru"), "xtts") == "ru"
    assert languages.choose("Hello, 世界 is a word.", ("en",), "hibari") == "en"     # mostly Latin: English


@pytest.mark.parametrize("language, text, spoken", [
    ("es", "Tengo 3 hijos y el libro cuesta 12,50 €.", "Tengo tres hijos y el libro cuesta doce euros con cincuenta "
                                                       "céntimos."),
    ("es", "El 02/12/2026 subió un 15 %.", "El dos de diciembre de dos mil veintiséis subió un quince por ciento."),
    ("es", "Vive en el 2º piso con 1.250 libros.", "Vive en el segundo piso con mil doscientos cincuenta libros."),
    ("fr", "Le 1/12/2026, j'ai payé 3,5 € et 2,25 %.", "Le premier décembre deux mille vingt-six, j'ai payé trois "
                                                       "euros et cinquante centimes et deux virgule vingt-cinq pour cent."),
    ("it", "Ho 3 figli e 45 anni.", "Ho tre figli e quarantacinque anni."),
    ("pt-br", "Paguei R$ 10 na 2ª vez.", "Paguei dez reais na segunda vez."),
    ("ja", "価格は$5で、￥1,500です。", "価格は5ドルで、1500円です。"),         # digits stay for pyopenjtalk
    ("zh", "我花了$5。", "我花了5美元。"),                                       # and for cn2an
    ("hi", "कीमत ₹500 है, 20% छूट।", "कीमत 500 रुपये है, 20 प्रतिशत छूट।"),     # and for espeak-ng's Hindi
])
def test_numbers_money_and_dates_are_spoken_in_the_texts_language(language, text, spoken):
    assert normalize_language(text, language) == spoken


def test_sentences_split_at_cjk_and_devanagari_marks():
    assert split_sentences("今日は晴れです。明日は雨？そうです！") == ["今日は晴れです。", "明日は雨？", "そうです！"]
    assert split_sentences("मेरा नाम राम है। आप कैसे हैं?") == ["मेरा नाम राम है।", "आप कैसे हैं?"]
    long = "、".join(["東京の天気はとても良いです"] * 40) + "。"
    chunks = chunk_text(long, 100)
    assert all(len(c) <= 100 for c in chunks) and all(c.endswith(("、", "。")) for c in chunks)


def test_the_spoken_size_limit_counts_the_words_numbers_become():
    text = "Tengo 1.234.567 libros."
    with pytest.raises(Exception) as err:
        prepare_sentences(text, 400, "es", max_spoken_chars=len(text) + 10)
    assert err.value.code == "text_too_long"
    spoken, written = prepare_sentences(text, 400, "es")[0]
    assert written == text and "millón" in spoken


class Recorder(Backend):
    """Says nothing; remembers what each synthesize call was given."""

    name = "recorder"
    revision = "0"
    calls: list

    @classmethod
    def load(cls, model_dir=None, threads=0, device="auto"):
        return cls()

    def synthesize(self, text, voice, *, speed=1.0, seed=None, params=None):
        self.calls.append((text, params))
        yield AudioChunk(np.full(240, 0.3, np.float32), 24_000)


@pytest.mark.parametrize("name", ["chatterbox-multilingual", "xtts", "f5", "higgs", "kokoro"])
def test_gpu_backends_get_the_chosen_language_in_their_params(name, tmp_path):
    """The real class's languages and params model (no engine loaded): the job's language, or the text's script,
    reaches synthesize() as params.language, in the backend's own spelling."""
    real = backend_class(name)
    backend = type(f"{name}-recorder", (Recorder,), {"capabilities": real.capabilities, "Params": real.Params,
                                                    "name": real.name, "calls": []})()
    library = VoiceLibrary(open_store(str(tmp_path)), ByteLRU(1_000_000))
    synthesis = Synthesis(Settings(), backend, Voices(Settings(), backend, library))
    library.add_stock(VoiceMeta(id="v", name="v", source="stock"), backend.embedding_key, {"x": np.zeros(1, np.float32)})
    chinese = "今天天气很好。"
    plan = synthesis.plan(SynthesizeRequest(text=chinese, voice="v"))
    expected = languages.match("zh", real.capabilities.languages)
    if expected is None:
        assert plan.parts[0].params.language == "en"
    else:
        assert plan.parts[0].params.language == expected
    synthesis.render(plan)
    assert backend.calls and backend.calls[0][1].language == plan.parts[0].language
    wanted = real.capabilities.languages[-1]
    plan = synthesis.plan(SynthesizeRequest(text="Hello there.", voice="v", language=wanted))
    assert plan.parts[0].params.language == wanted
    with pytest.raises(InvalidInput) as err:
        synthesis.plan(SynthesizeRequest(text="Hello there.", voice="v", language="tlh"))
    assert ", ".join(real.capabilities.languages) in err.value.hint
