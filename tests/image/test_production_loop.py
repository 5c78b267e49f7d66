"""handler.py in the image, as RunPod runs it: jobs from the queue stand-in, streamed items and results posted
back, failures recorded as FAILED with the structured error, progress updates, pings; quiet logs."""
from __future__ import annotations

import base64
import io
import json
import re
import time

import pytest
import soundfile as sf

from tests.support.speech import decode_result, transcribe, wer

pytestmark = pytest.mark.image

SENTENCES = ["The image runs the worker as the cloud does.", "Each sentence arrives on its own.",
             "Then the whole answer comes back."]


def finished(queue, job_input: dict, timeout: float = 300):
    return queue.wait(queue.submit(job_input), timeout)


def test_an_ordinary_job_completes_with_speech(queue, queue_worker):
    text = "A container took this job from the queue."
    job = finished(queue, {"text": text, "format": "wav"})
    assert job.status == "COMPLETED", (job.result, queue_worker.logs()[-3000:])
    (result,) = job.output                       # STREAMING=1 (default): outputs are lists
    assert result["backend"] == "kokoro" and result["format"] == "wav"
    assert wer(text, transcribe(*decode_result(result))) <= 0.2
    assert queue.unauthorized == [] and queue.unknown == []


def test_a_streamed_job_posts_each_sentence_then_the_aggregate(queue, queue_worker):
    job = finished(queue, {"text": " ".join(SENTENCES), "stream": True, "format": "wav"})
    assert job.status == "COMPLETED", job.result
    items = [post["output"] for post in job.stream]
    assert job.is_stream == "true" and job.output == items
    chunks = [item for item in items if "audio_base64" in item]
    assert [chunk["text"] for chunk in chunks if chunk["text"]] == SENTENCES    # one post per sentence, in order
    joined = b"".join(base64.b64decode(chunk["audio_base64"]) for chunk in chunks)   # one stream, joined
    samples, rate = sf.read(io.BytesIO(joined), dtype="float32")
    assert wer(" ".join(SENTENCES), transcribe(samples, rate)) <= 0.25


def test_a_failing_job_is_failed_with_the_structured_error(queue, queue_worker):
    job = finished(queue, {"text": "Who is speaking?", "voice": "nobody-by-this-name"})
    assert job.status == "FAILED"
    error = json.loads(job.error)
    assert error["code"] == "voice_not_found" and "nobody-by-this-name" in error["message"]
    assert finished(queue, {"text": "Still serving after that."}).status == "COMPLETED"


def test_voices_list(queue, queue_worker):
    job = finished(queue, {"action": "voices.list"})
    assert job.status == "COMPLETED"
    (listing,) = job.output
    assert {"jf_alpha", "jm_kumo"} <= {voice["id"] for voice in listing["voices"]}


def test_a_long_job_reports_progress(queue, queue_worker):
    text = " ".join(f"This is sentence number {n}." for n in ("one", "two", "three", "four", "five"))
    job = finished(queue, {"text": text, "format": "mp3"})
    assert job.status == "COMPLETED", job.result
    time.sleep(1.0)                              # the SDK posts each update from a thread of its own
    done = [update["sentences_done"] for update in job.progress]
    assert done and all(update["sentences"] == 5 for update in job.progress)
    assert sorted(done) == list(range(1, 6))


def test_the_worker_pings_and_sends_its_key(queue, queue_worker):
    deadline = time.monotonic() + 30
    while not queue.pings and time.monotonic() < deadline:
        time.sleep(0.5)
    assert queue.pings and queue.unauthorized == []
    assert all(take["job_in_progress"] in (["0"], ["1"]) for take in queue.takes)


def test_logs_hold_no_audio_and_no_presigned_url(queue, queue_worker):
    inline = finished(queue, {"text": "Nothing of me in the logs.", "format": "mp3"})
    linked = finished(queue, {"text": "Nor my link.", "format": "mp3", "output": "url"})
    assert inline.status == linked.status == "COMPLETED", linked.result
    url = linked.output[0]["audio_url"]
    assert "X-Amz-Signature=" in url
    logs = queue_worker.logs()
    assert '"message": "Finished.", "level": "INFO"' in logs    # the SDK's INFO lines are there
    assert "audio_base64" not in logs and inline.output[0]["audio_base64"][:40] not in logs
    assert url not in logs and not re.search(r"X-Amz-(Signature|Credential)", logs)
