"""WORKERS=N: worker processes behind the local server run plain and streamed jobs, cancel streams, survive a crash."""
from __future__ import annotations

import base64
import time

import httpx
import numpy as np
import openai
import pytest

from client import TTSClient, TTSJobError
from jobcore import audio
from jobcore.settings import Settings
from server import ServerSettings, create_app
from server.processes import WorkerProcesses
from tests.support.servers import serve
from tests.support.speech import transcribe, wer

LONG = " ".join(f"This is sentence number {i}, spoken slowly." for i in range(40))


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    workers = WorkerProcesses(Settings(backend="hibari", voice_library_uri=str(tmp_path_factory.mktemp("lib")),
                                       warmup=False, threads=1), 2)
    yield workers
    workers.close()


@pytest.fixture(scope="module")
def url(processes):
    with serve(create_app(processes, ServerSettings(concurrency=2))) as base:
        yield base


def test_plain_and_streamed_jobs_run_in_the_processes(processes, url):
    pids = {p.process.pid for p in processes.processes}
    with TTSClient(url) as client:
        assert client.info()["backend"] == "hibari"
        audio = np.frombuffer(client.synthesize("Hello from a worker process.", format="pcm"), "<i2")
        assert len(audio) > 12_000 and np.abs(audio).max() > 1000
        items = list(client.stream({"text": "One. Two. Three.", "format": "pcm"}))
        assert [i["chunk_index"] for i in items[:-1]] == [0, 1, 2] and items[-1]["done"] is True
        assert all(len(base64.b64decode(i["audio_base64"])) > 1000 for i in items[:-1])
    assert {p.process.pid for p in processes.processes} == pids and processes.backend_name == "hibari"


def test_metrics_sum_every_process(processes, url):
    """/metrics adds up the counters each process sent with its last result."""
    with TTSClient(url) as client:
        for n in range(4):
            client.result({"text": f"Counted in some process, {n}.", "format": "wav"})
    snapshot = processes.metrics_snapshot()
    done = [c["value"] for c in snapshot["counters"]
            if c["name"] == "jobs" and c["labels"] == {"action": "synthesize", "status": "completed", "code": ""}]
    assert done and done[0] >= 4 and sum(1 for p in processes.processes if p.metrics) == 2
    text = httpx.get(f"{url}/metrics").text
    assert f'tts_jobs_total{{action="synthesize",code="",status="completed"}} {done[0]}' in text
    assert "tts_voice_cache_hits_total" in text and "tts_workers 2.0" in text


def test_a_cancelled_stream_frees_its_process(processes, url):
    with TTSClient(url) as client:
        for _ in range(3):   # more cancelled streams than processes: each must hand its process back
            job_id = client.run({"text": LONG, "format": "pcm", "stream": True})
            started = time.monotonic() + 60
            while not client._call("GET", f"/stream/{job_id}")["stream"]:
                assert time.monotonic() < started, f"no chunk arrived: {client.status(job_id)}"
                time.sleep(0.05)
            assert client.cancel(job_id)["status"] == "CANCELLED"
        deadline = time.monotonic() + 30
        while client.health()["workers"]["running"]:
            assert time.monotonic() < deadline, "a cancelled stream kept its process"
            time.sleep(0.1)
        results = [client.result({"text": f"Still working, {n}.", "format": "wav"}) for n in range(2)]
        assert all(r["duration_s"] > 0.5 for r in results)


def test_a_dead_process_is_replaced(processes, url):
    victim = processes.processes[0]
    old_pid = victim.process.pid
    victim.process.kill()
    victim.process.join(10)
    with TTSClient(url) as client:
        outcomes = []
        for _ in range(3):
            try:
                outcomes.append(client.result({"text": "After the crash.", "format": "wav"})["duration_s"])
            except TTSJobError as exc:
                outcomes.append(exc.code)
    assert outcomes.count("internal_error") <= 1 and sum(isinstance(o, float) for o in outcomes) >= 2
    assert victim.process.pid != old_pid and victim.process.is_alive()


def test_openai_speech_streams_from_the_processes(url):
    """The OpenAI route through the official SDK with WORKERS=2: raw audio streamed chunk by chunk from a worker
    process, the speech whole and intelligible; errors before any audio keep their status."""
    text = "The first sentence comes from a worker process. The second one follows it."
    with openai.OpenAI(base_url=f"{url}/v1", api_key="unused-here", max_retries=0, timeout=120) as oa:
        with oa.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input=text,
                                                            response_format="wav") as response:
            assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
            assert "content-length" not in response.headers       # chunked: sent as sentences are made
            data = b"".join(response.iter_bytes())
        samples, rate = audio.decode(data)
        assert rate == 24_000 and len(samples) / rate > 2.0
        assert wer(text, transcribe(samples, rate)) <= 0.15
        with pytest.raises(openai.NotFoundError) as info:
            oa.audio.speech.create(model="tts-1", voice="nobody-at-all", input="Hi.", response_format="pcm")
        assert info.value.code == "voice_not_found"
        again = oa.audio.speech.create(model="tts-1", voice="alloy", input="Still serving.", response_format="wav")
        assert audio.decode(again.content)[0].size > 12_000         # every process was handed back


def test_a_closed_speech_hands_its_process_back(processes):
    """A speech read only in part (a client that left) frees its process once closed."""
    for _ in range(3):      # more than the processes
        speech = processes.speech({"text": LONG, "format": "pcm"})
        assert len(next(speech.chunks)) > 1000
        speech.chunks.close()
    speech = processes.speech({"text": "Whole.", "format": "wav"})
    assert audio.decode(b"".join(speech.chunks))[0].size > 6_000
