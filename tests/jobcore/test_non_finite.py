"""NaN and ±Infinity never enter a request: every float field refuses them with invalid_input naming the field,
and a NaN blend never reaches the voice library (it used to be written as null and break every listing)."""
from __future__ import annotations

import json
import math

import httpx
import pytest

from jobcore.settings import Settings
from jobcore.worker import Worker
from tests.support.jobs import error_of

BAD = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", BAD, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("job,field", [
    ({"text": "Hi.", "speed": None}, "speed"),
    ({"segments": [{"text": "Hi.", "speed": None}]}, "segments.0.speed"),
    ({"segments": [{"text": "Hi."}], "gap_s": None}, "gap_s"),
    ({"text": "Hi.", "params": {"temperature": None}}, "params.temperature"),
    ({"text": "Hi.", "params": {"nested": [1.0, None]}}, "params.nested.1"),
    ({"action": "voices.create", "name": "poison", "blend": {"jf_alpha": None, "jm_kumo": 1.0}}, "blend.jf_alpha"),
])
def test_every_float_refuses_non_finite_values_naming_the_field(hibari_worker, job, field, value):
    def fill(obj):
        if isinstance(obj, dict):
            return {k: value if v is None else fill(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [value if v is None else fill(v) for v in obj]
        return obj
    error = error_of(hibari_worker.handle(fill(job)))
    assert error["code"] == "invalid_input"
    assert repr(field) in error["message"] or field in error["message"]


def test_a_batch_item_with_nan_fails_alone(hibari_worker):
    result = hibari_worker.handle({"batch": [{"text": "Hi.", "speed": math.nan}, {"text": "Hello.", "format": "wav"}]})
    assert result["failed"] == 1
    assert result["results"][0]["error"]["code"] == "invalid_input"
    assert "speed" in result["results"][0]["error"]["message"]
    assert "audio_base64" in result["results"][1]


def test_a_nan_blend_never_reaches_the_library(tmp_path):
    worker = Worker.from_settings(Settings(backend="kokoro", voice_library_uri=str(tmp_path / "lib"), warmup=False))
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "lib").rglob("*"))
    error = error_of(worker.handle({"action": "voices.create", "name": "poison",
                                    "blend": {"jf_alpha": math.nan, "jm_kumo": 1}}))
    assert error["code"] == "invalid_input" and "blend.jf_alpha" in error["message"]
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "lib").rglob("*")) == before
    listed = worker.handle({"action": "voices.list"})
    assert "error" not in listed and all(v["id"] != "poison" for v in listed["voices"])


def test_nan_in_http_bodies_is_a_clear_400_or_failed_job_never_a_500(local_url):
    raw = '{"input": {"text": "Hi.", "speed": NaN}}'
    response = httpx.post(f"{local_url}/runsync", content=raw, headers={"content-type": "application/json"},
                          timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "FAILED"
    assert json.loads(body["error"])["code"] == "invalid_input" and "speed" in body["error"]
    raw = '{"name": "poison", "blend": {"jf_alpha": NaN, "jm_kumo": Infinity}}'
    response = httpx.post(f"{local_url}/v1/audio/voices", content=raw,
                          headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 400, response.text
    assert "blend.jf_alpha" in response.text
    voices = httpx.get(f"{local_url}/v1/audio/voices", timeout=10)
    assert voices.status_code == 200 and all(v["voice_id"] != "poison" for v in voices.json()["voices"]
                                             if "voice_id" in v)
    raw = '{"input": "Hi.", "speed": -Infinity}'
    response = httpx.post(f"{local_url}/v1/audio/speech", content=raw, headers={"content-type": "application/json"},
                          timeout=60)
    assert response.status_code == 400 and "speed" in response.text
