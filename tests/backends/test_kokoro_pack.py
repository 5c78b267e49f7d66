"""The official Kokoro voice pack: baked from a directory, seeding stock voices by language, each voice speaking its
language by default."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from backends.g2p_tables import TABLES_DIR
from backends.kokoro import MODEL_FILE, read_bundled_model
from backends.kokoro_graph import for_cpu
from backends.kokoro_layout import part_files
from backends.kokoro_timing import DURATION_TENSOR, TIMING_FILE
from backends.kokoro_voices import PACK_FILE
from builder.bake import BakeError, bake
from jobcore.settings import Settings
from jobcore.worker import Worker
from tests.support.jobs import error_of
from tests.support.speech import decode_result, transcribe, wer

# The bundled tables under official-style names (the real pack has 54; these five are enough to prove the layout).
OFFICIAL_NAMES = {"jf_tebukuro": "af_heart", "jf_alpha": "bf_emma", "jm_kumo": "am_michael",
                  "jf_nezumi": "jf_alpha", "jf_gongitsune": "ef_dora"}


def bundled_tables() -> dict[str, np.ndarray]:
    from backends.kokoro import package_data

    with (package_data() / "voices_ja.npz").open("rb") as f, np.load(f, allow_pickle=False) as tables:
        return {OFFICIAL_NAMES[n]: tables[n].astype(np.float32) for n in tables.files}


@pytest.fixture(scope="module")
def official_dir(tmp_path_factory):
    """kokoro-onnx's release layout: the model file and voices-v1.0.bin, an npz of (510, 1, 256) tables."""
    src = tmp_path_factory.mktemp("official")
    (src / MODEL_FILE).write_bytes(read_bundled_model()[0])
    with open(src / PACK_FILE, "wb") as f:
        np.savez(f, **bundled_tables())
    return src


@pytest.fixture(scope="module")
def pack_worker(official_dir, tmp_path_factory):
    models = tmp_path_factory.mktemp("baked")
    bake("kokoro", models, source=str(official_dir))
    worker = Worker.from_settings(Settings(backend="kokoro", model_dir=str(models), warmup=False,
                                           voice_library_uri=str(tmp_path_factory.mktemp("pack-lib"))))
    yield worker
    worker.backend.close()


def test_bake_from_a_directory_records_source_pack_and_duration_tensor(official_dir, tmp_path):
    manifest = bake("kokoro", tmp_path, source=str(official_dir))
    assert manifest["source"] == str(official_dir)
    paths = [f["path"] for f in manifest["files"] if not f["path"].startswith(f"{TABLES_DIR}/")]
    assert sorted(paths) == sorted([*part_files(MODEL_FILE), PACK_FILE, TIMING_FILE])
    # the baked files declare the duration output themselves (the text side and the decoder, kokoro_layout); the
    # revision is the rewritten graph's, as before
    graph_sha = hashlib.sha256(for_cpu(read_bundled_model()[0])).hexdigest()
    parts = [list(part_files(MODEL_FILE)[:2]), list(part_files(MODEL_FILE)[2:])]
    assert json.loads((tmp_path / TIMING_FILE).read_text()) == {"duration_tensor": DURATION_TENSOR, "declared": True,
                                                                 "revision": graph_sha[:12], "parts": parts}


def test_bake_converts_the_hub_layout_of_raw_voice_files(tmp_path):
    src = tmp_path / "hub"
    (src / "onnx").mkdir(parents=True)
    (src / "voices").mkdir()
    (src / "onnx" / "model.onnx").write_bytes(read_bundled_model()[0])
    tables = bundled_tables()
    for name, table in tables.items():
        table.astype("<f4").tofile(src / "voices" / f"{name}.bin")
    bake("kokoro", tmp_path / "out", source=str(src))
    assert all((tmp_path / "out" / name).is_file() for name in part_files("kokoro-v1.0.onnx"))   # kokoro_layout
    with np.load(tmp_path / "out" / PACK_FILE, allow_pickle=False) as pack:
        assert sorted(pack.files) == sorted(tables)
        assert all(np.array_equal(pack[n], tables[n]) for n in tables)


def test_a_pickled_voice_pack_is_refused(tmp_path):
    src = tmp_path / "evil"
    src.mkdir()
    (src / MODEL_FILE).write_bytes(b"not read")
    with open(src / PACK_FILE, "wb") as f:
        np.savez(f, af_heart=np.array([{"style": 1}], dtype=object))
    with pytest.raises(BakeError, match="pickled"):
        bake("kokoro", tmp_path / "out", source=str(src))


def test_the_pack_seeds_stock_voices_with_language_and_gender(pack_worker):
    voices = {v["id"]: v for v in pack_worker.handle({"action": "voices.list"})["voices"]}
    assert {"af_heart", "bf_emma", "am_michael", "jf_alpha"} <= set(voices)
    assert (voices["af_heart"]["language"], voices["af_heart"]["gender"]) == ("en-us", "female")
    assert (voices["bf_emma"]["language"], voices["am_michael"]["gender"]) == ("en-gb", "male")
    assert voices["jf_alpha"]["language"] == "ja" and voices["ef_dora"]["language"] == "es"
    assert pack_worker.handle({"action": "info"})["default_voice"] == "af_heart"


@pytest.mark.parametrize("voice", ["af_heart", "bf_emma"])
def test_american_and_british_voices_speak_english(pack_worker, voice):
    text = "The library opens at nine in the morning."
    result = pack_worker.handle({"text": text, "voice": voice, "format": "wav"})
    samples, rate = decode_result(result)
    assert result["voice"] == voice and wer(text, transcribe(samples, rate)) <= 0.25


def test_a_voice_speaks_its_language_and_latin_text_with_a_japanese_voice_is_english(pack_worker):
    """ef_dora reads Latin text as Spanish without being told; jf_alpha reads it as English (as before)."""
    from tests.support.multilingual import reading_error, transcribe as transcribe_in

    spanish = "Hola, me llamo Dora y tengo 3 hermanos."
    samples, rate = decode_result(pack_worker.handle({"text": spanish, "voice": "ef_dora", "format": "wav"}))
    assert reading_error(spanish, transcribe_in(samples, rate, "es"), "es") <= 0.35
    english = "The library opens at nine in the morning."
    samples, rate = decode_result(pack_worker.handle({"text": english, "voice": "jf_alpha", "format": "wav"}))
    assert wer(english, transcribe(samples, rate)) <= 0.25


def test_a_language_kokoro_lacks_is_a_clear_error(pack_worker):
    error = error_of(pack_worker.handle({"text": "Guten Tag.", "voice": "af_heart", "language": "de"}))
    assert error["code"] == "invalid_input" and "'de'" in error["message"] and "pt-br" in error["hint"]


def test_a_clip_is_matched_among_the_packs_english_voices(pack_worker):
    """With the official pack the fit mixes its English voices only (its probe sentences are English; the real
    pack's 54 voices would use up the default budget of 40 before any blend is tried): a clip spoken by the pack's
    jf_alpha is matched among af_heart, bf_emma and am_michael, not answered with jf_alpha itself."""
    clip = pack_worker.handle({"text": "Every morning I walk along the river and count the boats that pass by.",
                               "voice": "jf_alpha", "format": "wav"})["audio_base64"]
    voice = pack_worker.handle({"action": "voices.create", "name": "Alpha Match", "audio_base64": clip,
                                "fit_budget": 6})["voice"]
    assert voice["source"] == "fit" and voice["usable"]
    assert voice["blend"] and set(voice["blend"]) <= {"af_heart", "bf_emma", "am_michael"}
    pack_worker.handle({"action": "voices.delete", "voice": "alpha-match"})
