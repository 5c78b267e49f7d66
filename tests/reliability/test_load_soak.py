"""Load and soak through the local server: every job completes, memory stays flat, the cache stays bounded."""
import base64
import os

import psutil
import pytest

from client import TTSClient
from client.api import single_output
from jobcore.worker import Worker
from server import ServerSettings, create_app
from storage import open_store
from tests.support.servers import serve
from voice_library import ByteLRU, VoiceLibrary


def rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


@pytest.mark.slow   # 600 jobs: the soak runs in `make test-slow`; the cache bound below stays in the fast tier
def test_500_sequential_and_100_concurrent_jobs(hibari_worker, tmp_path):
    cache = ByteLRU(max_bytes=300_000)                   # small on purpose: evictions must happen
    library = VoiceLibrary(open_store(str(tmp_path / "lib")), cache, ttl_s=0.5)
    worker = Worker(hibari_worker.settings, hibari_worker.backend, library)
    worker.seed_stock_voices()
    app = create_app(worker, ServerSettings(concurrency=2, result_ttl_s=5.0))
    formats = ["mp3", "wav", "opus", "flac", "pcm"]
    with serve(app) as url, TTSClient(url, timeout=60) as client:
        marks = {}
        for i in range(500):
            job = {"text": f"Job number {i} is a short sentence.", "format": formats[i % 5], "voice": "heart"}
            if i % 50 == 7:
                job = {"text": "bad", "format": "webm"}           # failures mixed in must not leak either
            payload = client.runsync(job)
            if job["format"] == "webm":
                assert payload["status"] == "FAILED" and "unsupported_format" in payload["error"]
            else:
                assert payload["status"] == "COMPLETED", payload
                assert len(base64.b64decode(single_output(payload["output"])["audio_base64"])) > 500
            if i in (99, 499):
                marks[i] = rss_mb()
        assert marks[499] - marks[99] < 40, marks          # flat: no growth from the first to the last hundred
        ids = [client.run({"text": f"Concurrent job {i}.", "format": "mp3"}) for i in range(100)]
        statuses = [client.wait(job_id, timeout=300)["status"] for job_id in ids]
        assert statuses == ["COMPLETED"] * 100
        health = client.health()
        assert health["jobs"]["inQueue"] == 0 and health["jobs"]["inProgress"] == 0
    stats = cache.stats()
    assert stats["bytes"] <= 300_000 and stats["hits"] > 500


def test_rotating_voices_keep_the_cache_inside_its_bound(kokoro_worker, tmp_path):
    """Kokoro tables are ~0.5 MB each: a 1.2 MB cache must evict, never exceed, and still serve every voice."""
    cache = ByteLRU(max_bytes=1_200_000)
    library = VoiceLibrary(open_store(str(tmp_path / "lib")), cache)
    worker = Worker(kokoro_worker.settings, kokoro_worker.backend, library)
    worker.seed_stock_voices()
    voices = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]
    app = create_app(worker, ServerSettings(concurrency=2))
    with serve(app) as url, TTSClient(url, timeout=60) as client:
        ids = [client.run({"text": "Hi.", "voice": voices[i % 5], "format": "pcm"}) for i in range(40)]
        assert [client.wait(job_id, timeout=300)["status"] for job_id in ids] == ["COMPLETED"] * 40
    stats = cache.stats()
    assert stats["evictions"] > 0 and stats["bytes"] <= 1_200_000, stats
