"""The English-only Kokoro image (`make image LANGUAGES=en`): under 600 MB, speaks English with no network, and
refuses Japanese text with a structured error naming what it speaks."""
from __future__ import annotations

import json

import pytest

from tests.support.containers import docker
from tests.support.speech import decode_result, transcribe, wer

pytestmark = pytest.mark.image

# one job per line through the worker as handler.py builds it, each result as RunPod would send it
JOBS = """
import json, sys
import handler
from common.errors import job_output
worker = handler.get_worker()
for line in sys.stdin:
    job = json.loads(line)
    print(json.dumps(job_output(worker.handle(job, "job", None))), flush=True)
"""


def run_jobs(image: str, *jobs: dict) -> list[dict]:
    lines = "".join(json.dumps(job) + "\n" for job in jobs)
    out = docker("run", "--rm", "-i", "--network", "none", image, "python", "-c", JOBS, input=lines)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_size_and_label(english_image):
    info = json.loads(docker("image", "inspect", english_image))[0]
    assert info["Config"]["Labels"]["tts-worker.languages"] == "en"
    assert info["Size"] <= 600e6, f"{info['Size'] / 1e6:.0f} MB"


def test_speaks_english_and_refuses_japanese_clearly(english_image):
    info, english, japanese, asked = run_jobs(
        english_image, {"action": "info"},
        {"text": "The English image speaks English.", "format": "wav"},
        {"text": "今日はいい天気ですね。", "format": "wav"},
        {"text": "Konnichiwa.", "language": "ja", "format": "wav"})
    assert info["capabilities"]["languages"] == ["en", "en-gb"]
    assert not {"pyopenjtalk-plus", "misaki", "espeakng-loader"} & set(info["versions"])
    samples, rate = decode_result(english)
    assert rate == 24_000 and english["duration_s"] > 1.0
    assert wer("The English image speaks English.", transcribe(samples, rate)) <= 0.35
    for result in (japanese, asked):
        error = json.loads(result["error"])
        assert error["code"] == "invalid_input" and "en, en-gb" in error["hint"], error
