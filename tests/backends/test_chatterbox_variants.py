"""chatterbox-turbo and chatterbox-multilingual on the real chatterbox-tts library (CPU, random weights).

The weights are built by the library's own constructors and saved in the files (and formats) its loaders read;
the tokenizers are tiny ones in the formats the loaders expect. Loading goes through each adapter's real path
with the network blocked, so no hub call can hide in it.
"""
from __future__ import annotations

import io
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("chatterbox")

import soundfile as sf  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from backends import REGISTRY, backend_class  # noqa: E402
from backends.chatterbox_multilingual import LANGUAGES, ChatterboxMultilingualBackend, ChatterboxMultilingualParams  # noqa: E402
from backends.chatterbox_turbo import ChatterboxTurboBackend, ChatterboxTurboParams  # noqa: E402
from common.errors import AudioInvalid, InvalidInput  # noqa: E402
from tests.support.jobs import error_of  # noqa: E402
from tests.support.offline import offline as network_guard  # noqa: E402
from tests.support.random_weights import write_random_chatterbox_multilingual, write_random_chatterbox_turbo  # noqa: E402
from tests.support.torch_models import (  # noqa: E402
    RATE,
    create_voice,
    decode_wav,
    differing_arrays,
    library_worker,
    manifest_revision,
    random_bake,
    stored_and_loaded,
    timed_load,
    tone,
)

pytestmark = pytest.mark.slow
CAP = 10                               # max_new_tokens for every generation here


# -- helpers ----------------------------------------------------------------------------------------
def reference_clip(rate: int = RATE, seconds: float = 6.0) -> np.ndarray:
    """The shared reference tone, 6 s by default (Turbo needs more than 5 s)."""
    return tone(rate, seconds)


def wav_file(clip: np.ndarray, rate: int) -> io.BytesIO:
    f = io.BytesIO()
    sf.write(f, clip, rate, format="WAV", subtype="FLOAT")
    f.seek(0)
    return f


def offline():
    """Any TCP/UDP connection or hub download inside fails the test."""
    import chatterbox.models.tokenizers.tokenizer as tokenizer_module

    return network_guard(tokenizer_module, "hf_hub_download")


def assert_embed_equals_library(backend, clip, rate):
    """backend.embed(array) == the library's prepare_conditionals(file), key for key, dtype and value."""
    from backends.chatterbox import flatten_conditionals

    real_norm = getattr(backend.model, "norm_loudness", None)
    with pytest.MonkeyPatch.context() as mp:
        if real_norm is not None:
            # Turbo: under numpy 2 the library's loudness gain (a float64 scalar) turns the clip into float64,
            # which its own S3 tokenizer then rejects; keep float32 as numpy 1 did (the adapter does the same).
            mp.setattr(backend.model, "norm_loudness", lambda wav, sr: real_norm(wav, sr).astype(np.float32))
        backend.model.prepare_conditionals(wav_file(clip, rate))
    try:
        expected = flatten_conditionals(backend.model.conds)
    finally:
        backend.model.conds = None
    got = backend.embed(clip, rate)
    assert sorted(got) == sorted(expected)
    assert {"t3.speaker_emb", "t3.cond_prompt_speech_tokens", "gen.prompt_token", "gen.prompt_feat",
            "gen.embedding"} <= set(got)
    for key in expected:
        assert got[key].dtype == expected[key].dtype, key
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=key)
    return got


def assert_round_trip(backend, voice):
    back = stored_and_loaded(voice, backend.embedding_key)
    assert differing_arrays(back, voice) == []
    a, b = backend.conditionals(voice, 0.7), backend.conditionals(back, 0.7)
    for name, value in a.t3.__dict__.items():
        other = getattr(b.t3, name)
        assert (value is None and other is None) or torch.equal(value, other), name
    for key, value in a.gen.items():
        assert (value is None and b.gen[key] is None) or torch.equal(value, b.gen[key]), key


def assert_short_audio(chunks, tokens: int):
    assert len(chunks) == 1
    chunk = chunks[0]
    assert chunk.sample_rate == 24_000
    assert chunk.audio.dtype == np.float32 and chunk.audio.ndim == 1
    assert 0 < chunk.audio.size <= tokens * 2 * 480 + 24_000   # 25 tokens/s, 2 mel frames of 480 samples each
    assert np.isfinite(chunk.audio).all()


def test_registry_names_the_variants():
    assert REGISTRY["chatterbox-turbo"] == "backends.chatterbox_turbo:ChatterboxTurboBackend"
    assert REGISTRY["chatterbox-multilingual"] == "backends.chatterbox_multilingual:ChatterboxMultilingualBackend"
    assert backend_class("chatterbox-turbo") is ChatterboxTurboBackend
    assert backend_class("chatterbox-multilingual") is ChatterboxMultilingualBackend


# -- Turbo --------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def turbo_dir(tmp_path_factory):
    """The files ChatterboxTurboTTS.from_local reads, from the library's own constructors (its turbo T3 config)."""
    with random_bake(tmp_path_factory, "chatterbox-turbo") as path:
        write_random_chatterbox_turbo(path)
    return path


@pytest.fixture(scope="class")
def turbo(turbo_dir):
    with offline():
        be = timed_load(ChatterboxTurboBackend, turbo_dir, max_new_tokens=CAP)
    yield be
    be.close()


@pytest.fixture(scope="class")
def turbo_voice(turbo):
    return turbo.embed(reference_clip(), RATE)


class TestTurbo:
    def test_loads_the_baked_directory_through_from_local(self, turbo, turbo_dir):
        from chatterbox.tts_turbo import ChatterboxTurboTTS

        revision = manifest_revision(turbo_dir)
        assert isinstance(turbo.model, ChatterboxTurboTTS)
        assert turbo.model.t3.is_gpt and turbo.model.t3.hp.speech_cond_prompt_len == 375
        assert turbo.revision == revision
        assert turbo.embedding_key == f"chatterbox-turbo@{revision}"
        assert turbo.stock_voices() == [] and turbo.device == "cpu" and turbo.max_new_tokens == CAP

    def test_embed_from_an_array_equals_prepare_conditionals_from_a_file(self, turbo):
        voice = assert_embed_equals_library(turbo, reference_clip(44_100), 44_100)   # resampled, loudness-normed
        assert voice["t3.cond_prompt_speech_tokens"].shape == (1, 150)   # 6 s at 25 tokens/s (turbo takes up to 15 s)

    def test_refuses_a_reference_of_5_seconds_or_less(self, turbo):
        for seconds in (3.0, 5.0):
            with pytest.raises(AudioInvalid) as caught:
                turbo.embed(reference_clip(seconds=seconds), RATE)
            assert "5 s" in caught.value.message and caught.value.hint
        with pytest.raises(AudioInvalid):
            turbo.embed(np.full(RATE * 6, np.nan, np.float32), RATE)

    def test_embedding_round_trips_through_safetensors_tensor_equal(self, turbo, turbo_voice):
        assert_round_trip(turbo, turbo_voice)

    def test_short_generate_returns_float32_audio_at_24k_and_is_seeded(self, turbo, turbo_voice):
        params = ChatterboxTurboParams(temperature=0.9, top_k=50)
        started = time.perf_counter()
        first = list(turbo.synthesize("Hello there [laugh], this is a test.", turbo_voice, seed=3, params=params))
        print(f"\nturbo generate (max_new_tokens={CAP}): {time.perf_counter() - started:.1f}s")
        again = list(turbo.synthesize("Hello there [laugh], this is a test.", turbo_voice, seed=3, params=params))
        assert_short_audio(first, CAP + 3)                # the library appends 3 silence tokens
        np.testing.assert_array_equal(again[0].audio, first[0].audio)

    def test_params_take_what_turbo_generate_uses_and_reject_the_rest(self, turbo, turbo_voice):
        assert ChatterboxTurboParams().model_dump() == {"temperature": 0.8, "top_k": 1000, "top_p": 0.95,
                                                        "repetition_penalty": 1.2}
        for bad in ({"exaggeration": 0.5}, {"cfg_weight": 0.3}, {"min_p": 0.1}, {"language": "en"},
                    {"top_k": -1}, {"temperature": 0}, {"top_p": 0}):
            with pytest.raises(ValidationError):
                ChatterboxTurboParams.model_validate(bad)
        with pytest.raises(InvalidInput):
            list(turbo.synthesize("Hi.", {"style": np.zeros(256, np.float32)}))


# -- Multilingual -------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def mtl_dir(tmp_path_factory):
    """The files ChatterboxMultilingualTTS.from_local reads (ve.pt and s3gen.pt are torch state dicts)."""
    with random_bake(tmp_path_factory, "chatterbox-multilingual") as path:
        write_random_chatterbox_multilingual(path)
    return path


@pytest.fixture(scope="class")
def mtl(mtl_dir):
    with offline():
        be = timed_load(ChatterboxMultilingualBackend, mtl_dir, max_new_tokens=CAP)
    yield be
    be.close()


@pytest.fixture(scope="class")
def mtl_voice(mtl):
    return mtl.embed(reference_clip(seconds=4.0), RATE)


class TestMultilingual:
    def test_languages_are_the_librarys(self):
        from chatterbox.mtl_tts import ChatterboxMultilingualTTS

        assert LANGUAGES == tuple(sorted(ChatterboxMultilingualTTS.get_supported_languages()))
        assert ChatterboxMultilingualBackend.capabilities.languages == LANGUAGES

    def test_loads_the_baked_directory_without_the_hub(self, mtl, mtl_dir):
        from chatterbox.models.tokenizers import MTLTokenizer
        from chatterbox.mtl_tts import ChatterboxMultilingualTTS

        revision = manifest_revision(mtl_dir)
        assert isinstance(mtl.model, ChatterboxMultilingualTTS) and isinstance(mtl.model.tokenizer, MTLTokenizer)
        assert mtl.model.t3.hp.is_multilingual
        assert mtl.revision == revision
        assert mtl.embedding_key == f"chatterbox-multilingual@{revision}"
        assert mtl.stock_voices() == [] and mtl.device == "cpu"

    def test_tokenizer_uses_the_language_token_and_the_baked_cangjie_map(self, mtl):
        tok = mtl.model.tokenizer
        vocab = tok.tokenizer.get_vocab()
        fr = tok.text_to_tokens("Ça va?", language_id="fr")[0].tolist()
        assert fr[0] == vocab["[fr]"] and vocab["[UNK]"] not in fr          # lowercased, NFKD-decomposed
        zh = tok.text_to_tokens("你好", language_id="zh")[0].tolist()
        assert zh == [vocab[t] for t in ("[zh]", "[cj_o]", "[cj_n]", "[cj_f]", "[cj_.]",
                                         "[cj_v]", "[cj_n]", "[cj_d]", "[cj_.]")]

    def test_embed_from_an_array_equals_prepare_conditionals_from_a_file(self, mtl):
        voice = assert_embed_equals_library(mtl, reference_clip(RATE, 8.0), RATE)
        assert voice["t3.cond_prompt_speech_tokens"].shape == (1, 150)   # the first 6 s (ENC_COND_LEN), 25 tokens/s

    def test_embedding_round_trips_through_safetensors_tensor_equal(self, mtl, mtl_voice):
        assert_round_trip(mtl, mtl_voice)

    def test_short_generate_masks_invalid_ids_returns_float32_at_24k_and_is_seeded(self, mtl, mtl_voice):
        from backends.chatterbox_multilingual import is_alignment_hook

        attn = [mtl.model.t3.tfmr.layers[i].self_attn for i in (12, 13, 9)]

        def count_hooks():
            return [(sum(map(is_alignment_hook, m._forward_hooks.values())), len(m._forward_hooks)) for m in attn]

        hooks_before = count_hooks()
        raw, hooks_during = [], []
        real_inference = mtl.model.t3.inference

        def spy(**kwargs):
            out = real_inference(**kwargs)
            raw.append(out.clone())
            hooks_during.append(count_hooks())
            return out

        params = ChatterboxMultilingualParams(language="fr", temperature=0.9, exaggeration=0.8)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(mtl.model.t3, "inference", spy)
            started = time.perf_counter()
            first = list(mtl.synthesize("Bonjour, ceci est un essai.", mtl_voice, seed=3, params=params))
            print(f"\nmultilingual generate (max_new_tokens={CAP}): {time.perf_counter() - started:.1f}s; "
                  f"raw ids >= 6561: {int((raw[0] >= 6561).sum())} of {raw[0].numel()}")
            again = list(mtl.synthesize("Bonjour, ceci est un essai.", mtl_voice, seed=3, params=params))
        assert raw[0].shape[-1] <= CAP
        assert_short_audio(first, CAP)
        np.testing.assert_array_equal(again[0].audio, first[0].audio)
        # the library adds an analyzer hook to each layer per call; the adapter removes exactly those afterwards
        # (transformers' own output-capturing hooks, installed once on the first call, stay)
        assert [analyzer for analyzer, _ in hooks_during[0]] == [1, 1, 1]
        assert [analyzer for analyzer, _ in hooks_during[1]] == [1, 1, 1]
        assert count_hooks() == [(0, total - 1) for _, total in hooks_during[1]]
        assert [analyzer for analyzer, _ in hooks_before] == [0, 0, 0]

    def test_speech_ids_outside_s3gens_vocabulary_are_masked(self, mtl, mtl_voice):
        """Random weights can sample ids in 6563..8193 (T3's head is 8194 wide); S3Gen's embedding then fails."""
        conds = mtl.conditionals(mtl_voice)
        with torch.inference_mode(), pytest.raises(IndexError):
            mtl.model.s3gen.inference(speech_tokens=torch.tensor([[1, 2, 7000]]), ref_dict=conds.gen)
        real_inference = mtl.model.t3.inference

        def with_invalid_ids(**kwargs):
            out = real_inference(**kwargs).clone()
            out[0, 1], out[0, 3] = 7000, 8193
            return out

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(mtl.model.t3, "inference", with_invalid_ids)
            chunks = list(mtl.synthesize("Hola.", mtl_voice, seed=5,
                                         params=ChatterboxMultilingualParams(language="es")))
        assert_short_audio(chunks, CAP - 2)

    def test_params_validate_language_and_reject_unknown_keys(self, mtl, mtl_voice):
        assert ChatterboxMultilingualParams().language == "en"
        assert ChatterboxMultilingualParams(language=" FR ").language == "fr"
        assert ChatterboxMultilingualParams().repetition_penalty == 2.0       # the multilingual generate() default
        for bad in ({"language": "xx"}, {"language": "english"}, {"language": 3}, {"lang": "fr"},
                    {"top_k": 5}, {"temperature": 0}):
            with pytest.raises(ValidationError):
                ChatterboxMultilingualParams.model_validate(bad)
        schema = ChatterboxMultilingualParams.model_json_schema()
        assert schema["properties"]["language"]["enum"] == list(LANGUAGES)

    def test_worker_passes_the_language_through_params(self, mtl, tmp_path):
        worker = library_worker(mtl, tmp_path)
        created = create_voice(worker, language="de")
        assert "error" not in created, created
        assert created["voice"]["embeddings"] == [mtl.embedding_key]
        bad = worker.handle({"text": "Hallo.", "voice": "tone", "params": {"language": "xx"}})
        assert error_of(bad)["code"] == "invalid_input"
        result = worker.handle({"text": "Hallo, wie geht's?", "voice": "tone", "format": "wav", "seed": 1,
                                "params": {"language": "de", "cfg_weight": 0.3}})
        assert "error" not in result, result
        audio, rate = decode_wav(result)
        assert rate == 24_000 and audio.size > 0
