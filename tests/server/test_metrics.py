"""GET /metrics in Prometheus' text format: jobs by action, status and code, latencies, audio seconds and real-time
factor, caches, queue; in-process and as `python -m server` in load-balancing mode, whose whole JSON log is checked
for the job's text, the audio, query strings and secrets."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.seaweed import free_port_pairs
from tests.support.servers import API_KEY, Receiver

ROOT = Path(__file__).resolve().parents[2]


def scrape(url: str, key: str | None = None) -> dict[tuple[str, tuple], float]:
    """Every sample as {(name, sorted labels): value}."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_jobs_latencies_audio_and_queue(local_url, client):
    before = scrape(local_url)
    client.result({"text": "Counting this one.", "format": "wav"})
    failed = httpx.post(f"{local_url}/runsync", json={"input": {"text": "Nobody.", "voice": "no-such-voice"}}).json()
    assert failed["status"] == "FAILED"
    items = list(client.stream({"text": "First part. Second part.", "stream": True, "format": "pcm"}))
    assert items[-1]["done"]
    after = scrape(local_url)
    done = dict(action="synthesize", status="completed", code="")
    assert value(after, "tts_jobs_total", **done) - value(before, "tts_jobs_total", **done) == 2
    lost = dict(action="synthesize", status="failed", code="voice_not_found")
    assert value(after, "tts_jobs_total", **lost) - value(before, "tts_jobs_total", **lost) == 1
    for name, labels, jobs in (("tts_job_duration_seconds", {"action": "synthesize"}, 3),
                               ("tts_first_chunk_seconds", {"action": "synthesize"}, 2),
                               ("tts_queue_wait_seconds", {}, 3)):
        assert value(after, f"{name}_count", **labels) - value(before, f"{name}_count", **labels) == jobs, name
        assert value(after, f"{name}_bucket", **labels, le="+Inf") == value(after, f"{name}_count", **labels)
    made = value(after, "tts_audio_seconds_total") - value(before, "tts_audio_seconds_total")
    assert 1.5 < made < 10.0, made
    assert 0.0 < value(after, "tts_real_time_factor") < 20.0
    assert value(after, "tts_voice_cache_hits_total") > value(before, "tts_voice_cache_hits_total")
    assert value(after, "tts_queue_depth") == 0 and value(after, "tts_workers") == 1
    assert value(after, "tts_server_jobs_total", status="FAILED") - value(before, "tts_server_jobs_total", status="FAILED") == 1
    assert value(after, "tts_worker_info", backend="kokoro") == 1


def test_metrics_need_the_key_when_one_is_set(keyed_url):
    assert httpx.get(f"{keyed_url}/metrics").status_code == 401
    assert value(scrape(keyed_url, API_KEY), "tts_workers") == 1
    assert httpx.get(f"{keyed_url}/").status_code == 200             # the page itself asks for the key


def test_load_balancing_server_metrics_and_json_log(seaweed, tmp_path):
    """`python -m server` on an S3 library (output cache on) with LOG_FORMAT=json: the output cache's hits, misses
    and bytes in /metrics; every log line one JSON object; nothing of the text, audio, query strings or secrets."""
    from storage.s3_store import S3Store

    bucket = f"ops-{uuid.uuid4().hex[:12]}"
    S3Store.from_uri(f"s3://{bucket}", endpoint_url=seaweed.endpoint_url, access_key_id=seaweed.access_key,
                     secret_access_key=seaweed.secret_key).ensure_bucket()
    port, health = free_port_pairs(2)
    key, text = f"key-{uuid.uuid4().hex}", "Marmalade sandwiches travel quietly under Paddington's hat."
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKET_", "RUNPOD_"))}
    env.update(TTS_BACKEND="kokoro", VOICE_LIBRARY_URI=f"s3://{bucket}/lib", BUCKET_ENDPOINT_URL=seaweed.endpoint_url,
               BUCKET_ACCESS_KEY_ID=seaweed.access_key, BUCKET_SECRET_ACCESS_KEY=seaweed.secret_key, WARMUP="0",
               HOST="127.0.0.1", PORT=str(port), PORT_HEALTH=str(health), SERVER_API_KEY=key, LOG_FORMAT="json",
               LOG_LEVEL="INFO", ALLOW_PRIVATE_WEBHOOKS="1", WEBHOOK_RETRY_DELAY_S="0.1")
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=log_file,
                                stderr=subprocess.STDOUT)
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
    token = f"tok{uuid.uuid4().hex}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        job = {"text": text, "voice": "jf_alpha", "format": "mp3"}
        with Receiver([]) as hook:
            for _ in range(2):                     # a miss, then a hit from the output cache
                answer = httpx.post(f"{url}/runsync", headers=auth, timeout=120,
                                    json={"input": job, "webhook": f"{hook.url}?token={token}"}).json()
                assert answer["status"] == "COMPLETED", answer
            hook.wait_for(2)
        assert answer["output"][0]["cached"] is True
        status = httpx.get(f"{url}/status/{answer['id']}?ttl=60000", headers=auth, timeout=30)
        assert status.status_code == 200
        failed = httpx.post(f"{url}/runsync", headers=auth, timeout=60,
                            json={"input": {"text": text, "voice": "nobody-here"}}).json()
        assert failed["status"] == "FAILED"
        speech = httpx.post(f"{url}/v1/audio/speech", headers=auth, timeout=120,
                            json={"input": text, "voice": "jm_kumo", "response_format": "wav"})
        assert speech.status_code == 200 and speech.content[:4] == b"RIFF"
        samples = scrape(url, key)
    finally:
        proc.terminate()
        proc.wait(30)
    assert value(samples, "tts_output_cache_hits_total") == 1 and value(samples, "tts_output_cache_misses_total") == 1
    assert value(samples, "tts_output_cache_bytes_written_total") == value(samples, "tts_output_cache_bytes_hit_total") > 10_000
    assert value(samples, "tts_jobs_total", action="synthesize", status="completed", code="") == 3   # 2 jobs + speech
    assert value(samples, "tts_jobs_total", action="synthesize", status="failed", code="voice_not_found") == 1
    assert value(samples, "tts_first_chunk_seconds_count", action="synthesize") == 3
    assert value(samples, "tts_audio_seconds_total") > 4.0    # the miss and the speech route; the hit made none

    lines = log_path.read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]     # every line is one JSON object
    assert entries and all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    finished = [e for e in entries if e.get("action") == "synthesize" and "timings_ms" in e]   # one per job
    assert {e["status"] for e in finished} == {"completed", "failed"}
    assert all(e["backend"] == "kokoro" and "total" in e["timings_ms"] for e in finished)
    assert [e["error_code"] for e in finished if e["status"] == "failed"] == ["voice_not_found"]
    assert any(e["logger"].startswith("uvicorn") for e in entries)          # access lines go through it too
    whole = log_path.read_text()
    for secret in (text, "Marmalade", key, seaweed.secret_key, token, "ttl=60000", "?"):
        assert secret not in whole, secret
    assert max(map(len, lines)) < 4000                                      # no audio (base64) in any line
