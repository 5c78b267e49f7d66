"""The voice library on a directory: stock voices, lookup, cache accounting, safe embeddings."""
import numpy as np
import pytest

from common.errors import StorageUnavailable, VoiceNotFound
from storage.local_store import LocalDirStore
from voice_library import ByteLRU, VoiceLibrary, VoiceMeta
from voice_library.library import dump_embedding, load_embedding

KOKORO_STOCK = {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}


def test_voices_list_returns_the_stock_voices(kokoro_worker, hibari_worker):
    listed = {v["id"]: v for v in kokoro_worker.handle({"action": "voices.list"})["voices"]}
    assert set(listed) == KOKORO_STOCK
    assert all(v["usable"] and v["source"] == "stock" for v in listed.values())
    assert [v["id"] for v in hibari_worker.handle({"action": "voices.list"})["voices"]] == ["heart"]


def test_voices_get_by_case_insensitive_name(kokoro_worker):
    voice = kokoro_worker.handle({"action": "voices.get", "voice": "JM_Kumo"})["voice"]
    assert voice["id"] == "jm_kumo" and voice["gender"] == "male"
    assert voice["embeddings"] == [kokoro_worker.backend.embedding_key]


def test_repeat_job_is_a_cache_hit(kokoro_worker):
    job = {"text": "Cache me.", "voice": "jf_nezumi", "format": "wav"}
    kokoro_worker.handle(job)
    before = kokoro_worker.handle({"action": "info"})["cache"]
    kokoro_worker.handle(job)
    after = kokoro_worker.handle({"action": "info"})["cache"]
    assert after["hits"] >= before["hits"] + 2       # voice.json and the embedding
    assert after["misses"] == before["misses"]


def test_info_describes_the_worker(kokoro_worker):
    info = kokoro_worker.handle({"action": "info"})
    assert info["backend"] == "kokoro" and len(info["revision"]) == 12
    assert info["voice_count"] == 5 and info["capabilities"]["sample_rate"] == 24_000
    assert info["default_voice"] == "jf_tebukuro" and "onnxruntime" in info["versions"]
    assert info["params_schema"]["type"] == "object"


def test_seeding_twice_changes_nothing(tmp_path, kokoro_worker):
    store = LocalDirStore(tmp_path)
    library = VoiceLibrary(store, ByteLRU(10_000_000))
    for stock in kokoro_worker.backend.stock_voices()[:2]:
        meta = VoiceMeta(id=stock.id, name=stock.name, source="stock")
        assert library.add_stock(meta, "kokoro@x", stock.embedding) is True
        assert library.add_stock(meta, "kokoro@x", stock.embedding) is False
    assert len(store.list("voices/")) == 4
    got = library.embedding("jf_alpha", "kokoro@x")["style"]
    assert got.shape == (510, 1, 256) and got.dtype == np.float32


def test_embeddings_round_trip_without_pickle():
    emb = {"style": np.random.default_rng(0).normal(size=(4, 256)).astype(np.float32), "n": np.arange(3)}
    back = load_embedding(dump_embedding(emb, "kokoro@abc"))
    assert all(np.array_equal(emb[k], back[k]) for k in emb)
    with pytest.raises(StorageUnavailable):
        load_embedding(b"\x80\x04\x95pickle-bytes")


def test_lookup_errors(tmp_path):
    library = VoiceLibrary(LocalDirStore(tmp_path), ByteLRU(1000))
    with pytest.raises(VoiceNotFound) as exc:
        library.resolve("anyone")
    assert "empty" in exc.value.hint
    with pytest.raises(VoiceNotFound):
        library.get("../../etc/passwd")


def test_cache_is_byte_bounded_and_counts():
    cache = ByteLRU(max_bytes=10_000)
    for i in range(10):
        cache.put(f"k{i}", np.zeros(1000, np.float32))        # 4000 bytes each
    stats = cache.stats()
    assert stats["bytes"] <= 10_000 and stats["entries"] == 2 and stats["evictions"] == 8
    assert cache.get("k9") is not None and cache.get("k0") is None
    assert cache.stats()["hits"] == 1 and cache.stats()["misses"] == 1
    cache.put("huge", np.zeros(100_000, np.float32))           # larger than the cache: not kept
    assert cache.get("huge") is None and cache.stats()["bytes"] <= 10_000


def test_changed_voice_is_seen_after_the_ttl(tmp_path):
    store = LocalDirStore(tmp_path)
    reader = VoiceLibrary(store, ByteLRU(1_000_000), ttl_s=0.0)
    writer = VoiceLibrary(store, ByteLRU(1_000_000))
    writer.add_stock(VoiceMeta(id="v1", name="Before", source="stock"), "k@1", {"style": np.zeros(256, np.float32)})
    assert reader.get("v1").name == "Before"
    store.write("voices/v1/voice.json", VoiceMeta(id="v1", name="After").model_dump_json().encode())
    assert reader.get("v1").name == "After"
