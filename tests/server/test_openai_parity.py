"""OpenAI speech parity on the local server, through the official `openai` package: every format streams raw
bytes (no base64 cap), aac, server-sent events, ignored fields named, OpenAI voice names, voice objects."""
from __future__ import annotations

import base64
import io
import json

import av
import openai
import pytest

from client.api import single_output
from jobcore import audio

TEXT = "The first sentence is short. The second one is a little longer than that. A third closes it."


@pytest.fixture
def oa(local_url):
    with openai.OpenAI(base_url=f"{local_url}/v1", api_key="unused-here", max_retries=0, timeout=120) as c:
        yield c


def streamed(oa, **kwargs) -> tuple[dict, bytes]:
    with oa.audio.speech.with_streaming_response.create(model="tts-1", **kwargs) as response:
        return dict(response.headers), b"".join(response.iter_bytes())


def decode_aac(data: bytes) -> tuple[int, int]:
    """(samples, sample rate) of an ADTS AAC stream, decoded with FFmpeg through PyAV."""
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(audio=0))
    return sum(f.samples for f in frames), frames[0].sample_rate


def test_wav_streams_raw_bytes_past_the_inline_cap(oa, kokoro_worker, monkeypatch):
    """The speech route never goes through the job's base64 delivery: with the inline cap at 1 KB, a
    multi-second WAV still arrives, chunked, and is exactly the streamed pcm behind a streaming header."""
    monkeypatch.setattr(kokoro_worker.delivery.inline, "limit", 1000)
    headers, wav = streamed(oa, voice="jm_kumo", input=TEXT, response_format="wav")
    assert headers["content-type"] == "audio/wav" and "content-length" not in headers
    _, pcm = streamed(oa, voice="jm_kumo", input=TEXT, response_format="pcm")
    assert wav[:4] == b"RIFF" and wav[44:] == pcm
    samples, rate = audio.decode(wav)
    assert rate == 24_000 and len(samples) == len(pcm) // 2 and len(samples) / rate > 4.0


def test_flac_is_sent_whole_past_the_inline_cap(oa, kokoro_worker, monkeypatch):
    monkeypatch.setattr(kokoro_worker.delivery.inline, "limit", 1000)
    _, pcm = streamed(oa, voice="jm_kumo", input=TEXT, response_format="pcm")
    headers, flac = streamed(oa, voice="jm_kumo", input=TEXT, response_format="flac")
    assert headers["content-type"] == "audio/flac"
    samples, rate = audio.decode(flac)
    assert len(samples) == len(pcm) // 2 and rate == 24_000


def test_aac_decodes_at_the_right_duration(oa, client):
    _, pcm = streamed(oa, voice="jm_kumo", input=TEXT, response_format="pcm")
    headers, aac = streamed(oa, voice="jm_kumo", input=TEXT, response_format="aac")
    assert headers["content-type"] == "audio/aac" and aac[:2] == b"\xff\xf1"     # ADTS sync word, MPEG-4
    samples, rate = decode_aac(aac)
    assert rate == 24_000 and abs(samples - len(pcm) // 2) < 0.1 * rate      # one encoder: no per-sentence gaps
    job = single_output(client.runsync({"text": "Hello there.", "voice": "jm_kumo", "format": "aac"})["output"])
    assert job["content_type"] == "audio/aac"
    samples, rate = decode_aac(base64.b64decode(job["audio_base64"]))
    assert abs(samples / rate - job["duration_s"]) < 0.1


def test_sse_events_carry_the_audio_then_usage(oa):
    _, pcm = streamed(oa, voice="jm_kumo", input=TEXT, response_format="pcm")
    with oa.audio.speech.with_streaming_response.create(model="tts-1", voice="jm_kumo", input=TEXT,
                                                        response_format="pcm", stream_format="sse") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    deltas = [e for e in events if e["type"] == "speech.audio.delta"]
    assert len(deltas) == 3 and events[-1]["type"] == "speech.audio.done" and len(events) == 4
    assert b"".join(base64.b64decode(e["audio"]) for e in deltas) == pcm
    usage = events[-1]["usage"]
    assert usage["input_tokens"] > 0 and usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_instructions_are_named_as_ignored(oa):
    with oa.audio.speech.with_streaming_response.create(model="tts-1", voice="jm_kumo", input="Hi.",
                                                        response_format="pcm", instructions="whisper it") as r:
        assert r.headers["x-ignored-fields"] == "instructions"
    with oa.audio.speech.with_streaming_response.create(model="tts-1", voice="jm_kumo", input="Hi.",
                                                        response_format="pcm") as r:
        assert "x-ignored-fields" not in r.headers


def test_bad_stream_format_and_unknown_fields_are_refused(oa):
    with pytest.raises(openai.BadRequestError) as info:
        oa.audio.speech.create(model="tts-1", voice="jm_kumo", input="Hi.", extra_body={"stream_format": "ws"})
    assert "stream_format" in info.value.body["message"]
    with pytest.raises(openai.BadRequestError) as info:
        oa.audio.speech.create(model="tts-1", voice="jm_kumo", input="Hi.", extra_body={"temperature": 1})
    assert "temperature" in info.value.body["message"]


def test_openai_voice_names_and_voice_objects(oa, kokoro_worker):
    _, named = streamed(oa, voice="alloy", input="Hello.", response_format="pcm")
    _, stock = streamed(oa, voice="jf_alpha", input="Hello.", response_format="pcm")
    _, by_id = streamed(oa, voice={"id": "jf_alpha"}, input="Hello.", response_format="pcm")
    assert named == stock == by_id and len(named) > 24_000
    with pytest.raises(openai.BadRequestError):
        oa.audio.speech.create(model="tts-1", voice={"name": "jf_alpha"}, input="Hi.")


def test_instructions_capability_is_reported(kokoro_worker):
    assert kokoro_worker.handle({"action": "info"})["capabilities"]["instructions"] is False


def test_cloned_voices_through_openai_voices_api(oa, local_url, kokoro_worker):
    """POST (the SDK's multipart upload) and DELETE /v1/audio/voices run voices.create/delete on the library.
    Kokoro cannot clone: it fits a mix of its voices to the clip (voice matching), usable at once; the form takes
    `fit` and `fit_budget` too. A clip stored with `fit: false` is listed with `usable: false` and the reason."""
    import uuid

    import httpx

    name = f"Clip {uuid.uuid4().hex[:8]}"
    clip = oa.audio.speech.create(model="tts-1", voice="jm_kumo", input="A short clip to keep.",
                                  response_format="wav").content
    voice = oa.audio.voices.create(name=name, audio_sample=("clip.wav", clip, "audio/wav"), consent="mine",
                                   extra_body={"fit_budget": "6"})
    assert voice.name == name and voice.object == "audio.voice" and voice.type == "audio_sample"
    stored = kokoro_worker.handle({"action": "voices.get", "voice": voice.id})["voice"]
    assert stored["reference_duration_s"] > 1.0 and voice.model_extra["usable"] is True
    assert stored["source"] == "fit" and "not cloning" in voice.model_extra["note"]
    stored_only = oa.audio.voices.create(name=name + " raw", audio_sample=("clip.wav", clip, "audio/wav"),
                                         consent="mine", extra_body={"fit": "false"})
    assert stored_only.model_extra["usable"] is False
    listed = {v["id"]: v for v in httpx.get(f"{local_url}/v1/audio/voices", timeout=10).json()["voices"]}
    assert listed[voice.id]["usable"] and listed[stored_only.id]["usable"] is False
    assert "fit" in listed[stored_only.id]["reason"]
    oa.audio.voices.delete(stored_only.id)
    deleted = oa.audio.voices.delete(voice.id)
    assert deleted.deleted and deleted.id == voice.id
    with pytest.raises(openai.NotFoundError):
        oa.audio.voices.delete(voice.id)


def test_json_voice_create_blend_is_usable_at_once(oa, local_url):
    import uuid

    import httpx

    name = f"Mix {uuid.uuid4().hex[:8]}"
    created = httpx.post(f"{local_url}/v1/audio/voices", timeout=60,
                         json={"name": name, "blend": {"alloy": 1, "echo": 1}})
    assert created.status_code == 201 and created.json()["usable"] is True
    voice_id = created.json()["id"]
    listed = httpx.get(f"{local_url}/v1/audio/voices", timeout=10).json()["voices"]
    assert any(v["id"] == voice_id for v in listed)
    _, pcm = streamed(oa, voice=voice_id, input="Hello.", response_format="pcm")
    assert len(pcm) > 24_000
    bad = httpx.post(f"{local_url}/v1/audio/voices", timeout=10, json={"name": name, "blend": {"alloy": 1, "echo": 1}})
    assert bad.status_code == 409 and bad.json()["error"]["code"] == "voice_exists"
    private = httpx.post(f"{local_url}/v1/audio/voices", timeout=10,
                         json={"name": f"{name} 2", "audio_url": "http://127.0.0.1:9/clip.wav"})
    assert private.status_code == 400
    oa.audio.voices.delete(voice_id)


def test_seed_and_backend_params_reach_the_job(oa):
    _, a = streamed(oa, voice="jm_kumo", input="Hi.", response_format="pcm", extra_body={"seed": 7})
    assert len(a) > 0
    with pytest.raises(openai.BadRequestError) as info:
        oa.audio.speech.create(model="tts-1", voice="jm_kumo", input="Hi.",
                               extra_body={"params": {"exaggeration": 0.7}})
    assert "exaggeration" in info.value.body["message"]          # Kokoro takes no params; named, not dropped


def test_runpod_passthrough_gets_aliases_aac_and_wide_speed(kokoro_worker):
    from jobcore.openai_compat import unwrap_openai

    job = unwrap_openai({"openai_route": "/v1/audio/speech", "openai_input": {
        "model": "tts-1", "input": "Hello there.", "voice": {"id": "alloy"}, "response_format": "aac",
        "speed": 3.0, "stream_format": "sse", "instructions": "cheerful"}})
    result = kokoro_worker.handle(job, "passthrough")
    assert result["voice"] == "jf_alpha" and result["format"] == "aac"
    samples, rate = decode_aac(base64.b64decode(result["audio_base64"]))
    assert abs(samples / rate - result["duration_s"]) < 0.1 and result["duration_s"] < 0.8
