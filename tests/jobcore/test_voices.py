"""voices.create / voices.delete on a directory library: clips, blends, URLs, bad audio, nothing half-written."""
import base64
import io
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf

from jobcore import audio
from jobcore.worker import Worker
from storage import open_store
from tests.support.jobs import error_of
from tests.support.speech import decode_result, median_f0
from voice_library import ByteLRU, VoiceLibrary


def wav_b64(samples, rate=24_000, fmt="WAV", subtype=None) -> str:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def speech_clip(kokoro_worker) -> str:
    return kokoro_worker.handle({"text": "This is a reference clip for a new voice, about three seconds long.",
                                 "voice": "jf_alpha", "format": "wav"})["audio_base64"]


@pytest.fixture
def worker(tmp_path, kokoro_worker):
    settings = replace(kokoro_worker.settings, voice_library_uri=str(tmp_path))
    worker = Worker(settings, kokoro_worker.backend, VoiceLibrary(open_store(str(tmp_path)), ByteLRU(50_000_000)))
    worker.seed_stock_voices()
    return worker


def files_of(tmp_path, voice_id):
    return sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "voices" / voice_id).rglob("*") if p.is_file())


def test_create_from_clip_stores_reference_and_metadata(worker, speech_clip, tmp_path):
    voice = worker.handle({"action": "voices.create", "name": "Narrator One", "audio_base64": speech_clip,
                           "transcript": "This is a reference clip.", "fit": False})["voice"]
    assert voice["id"] == "narrator-one" and voice["source"] == "clip"
    assert 2.0 < voice["reference_duration_s"] < 6.0
    assert voice["usable"] is False and '"fit": false' in voice["note"]     # stored only: Kokoro would have fitted
    assert files_of(tmp_path, "narrator-one") == ["voices/narrator-one/reference.flac", "voices/narrator-one/voice.json"]
    ref, rate = sf.read(tmp_path / "voices/narrator-one/reference.flac")
    assert rate == 24_000 and ref.ndim == 1 and -24 < 20 * np.log10(np.sqrt(np.mean(ref ** 2))) < -16
    names = {v["name"] for v in worker.handle({"action": "voices.list"})["voices"]}
    assert "Narrator One" in names
    assert error_of(worker.handle({"action": "voices.create", "name": "narrator one", "audio_base64": speech_clip,
                                   "fit": False}))[
        "code"] == "voice_exists"


def test_stereo_44k_mp3_clip_is_downmixed_and_resampled(worker, tmp_path):
    t = np.arange(int(44_100 * 3)) / 44_100
    tone = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    clip = wav_b64(np.stack([tone, tone * 0.5], axis=1).astype(np.float32), 44_100, "MP3")
    voice = worker.handle({"action": "voices.create", "name": "Stereo", "audio_base64": clip, "fit": False})["voice"]
    info = sf.info(tmp_path / "voices/stereo/reference.flac")
    assert info.channels == 1 and info.samplerate == 24_000 and voice["reference_duration_s"] > 2.5


def test_long_clip_is_cut_to_the_best_window(worker, speech_clip):
    silence = np.zeros(24_000 * 40, np.float32)
    speech = decode_result({"audio_base64": speech_clip, "format": "wav", "sample_rate": 24_000})[0]
    long_clip = np.concatenate([silence[:24_000 * 5], speech, silence, speech, speech])
    voice = worker.handle({"action": "voices.create", "name": "Long", "audio_base64": wav_b64(long_clip),
                           "fit": False})["voice"]
    assert voice["reference_duration_s"] <= 30.0


def test_blend_is_usable_and_lies_between_its_parents(worker):
    voice = worker.handle({"action": "voices.create", "name": "Mix", "blend": {"jf_alpha": 0.5, "JM_KUMO": 0.5}})
    assert voice["voice"]["usable"] and voice["voice"]["blend"] == {"jf_alpha": 0.5, "jm_kumo": 0.5}
    text = {"text": "Every voice reads this same sentence aloud today.", "format": "wav"}
    pitch = {v: median_f0(*decode_result(worker.handle({**text, "voice": v}))) for v in ("jf_alpha", "jm_kumo", "mix")}
    low, high = sorted((pitch["jf_alpha"], pitch["jm_kumo"]))
    assert low < pitch["mix"] < high, pitch


def test_blend_of_unknown_voice_writes_nothing(worker, tmp_path):
    err = error_of(worker.handle({"action": "voices.create", "name": "Bad Mix", "blend": {"jf_alpha": 1, "ghost": 1}}))
    assert err["code"] == "voice_not_found" and not (tmp_path / "voices/bad-mix").exists()


@pytest.mark.parametrize("payload,code", [
    (base64.b64encode(b"").decode(), "audio_invalid"),
    (base64.b64encode(b"RIFF\x24\x00\x00\x00WAVEfmt garbage").decode(), "audio_invalid"),
    (base64.b64encode(b"\xff\xfb\x90\x00" + bytes(500)).decode(), "audio_invalid"),
    ("not base64 !!!", "invalid_input"),
    (wav_b64(np.zeros(24_000 * 5, np.float32)), "audio_invalid"),                      # silence only
    (wav_b64(np.full(24_000, np.nan, np.float32), subtype="FLOAT"), "audio_invalid"),
    (wav_b64(0.3 * np.ones(2_400, np.float32)), "audio_invalid"),                      # 0.1 s
])
def test_bad_clips_are_refused_and_leave_nothing(worker, tmp_path, payload, code):
    assert error_of(worker.handle({"action": "voices.create", "name": "Broken", "audio_base64": payload}))["code"] == code
    assert not (tmp_path / "voices/broken").exists()


def test_oversized_clip_is_refused(worker, tmp_path):
    small = replace(worker.settings, max_audio_bytes=10_000)
    worker = Worker(small, worker.backend, worker.library)
    clip = wav_b64(0.1 * np.ones(24_000, np.float32))
    assert error_of(worker.handle({"action": "voices.create", "name": "Big", "audio_base64": clip}))["code"] == "audio_invalid"


def test_delete_removes_every_object(worker, speech_clip, tmp_path):
    worker.handle({"action": "voices.create", "name": "Temp", "audio_base64": speech_clip, "fit": False})
    assert worker.handle({"action": "voices.delete", "voice": "TEMP"}) == {"deleted": "temp"}
    assert not (tmp_path / "voices/temp").exists()
    assert error_of(worker.handle({"action": "voices.delete", "voice": "temp"}))["code"] == "voice_not_found"


def test_reference_audio_on_kokoro_is_cloning_unsupported(worker, speech_clip):
    err = error_of(worker.handle({"text": "Hello.", "reference_audio": speech_clip}))
    assert err["code"] == "cloning_unsupported"


class _ClipServer(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):
        status, headers, body = self.routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def clip_server(speech_clip):
    clip = base64.b64decode(speech_clip)
    _ClipServer.routes = {
        "/clip.wav": (200, {"Content-Type": "audio/wav", "Content-Length": str(len(clip))}, clip),
        "/redirect": (302, {"Location": "/clip.wav"}, b""),
        "/huge.wav": (200, {"Content-Type": "audio/wav"}, clip * 20),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClipServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_audio_url_to_loopback_is_refused_by_default(worker, clip_server, tmp_path):
    for path in ("/clip.wav", "/redirect"):
        err = error_of(worker.handle({"action": "voices.create", "name": "Url", "audio_url": clip_server + path}))
        assert err["code"] == "invalid_input" and "private" in err["message"]
    for url in ("http://169.254.169.254/latest/meta-data", "http://10.0.0.1/x", "http://[::1]/x", "file:///etc/passwd"):
        assert error_of(worker.handle({"action": "voices.create", "name": "Url", "audio_url": url}))["code"] == "invalid_input"
    assert not (tmp_path / "voices/url").exists()


def test_audio_url_when_private_hosts_are_allowed(worker, clip_server):
    trusting = Worker(replace(worker.settings, allow_private_urls=True, max_audio_bytes=2_000_000),
                      worker.backend, worker.library)
    voice = trusting.handle({"action": "voices.create", "name": "From Url", "audio_url": clip_server + "/redirect",
                             "fit": False})
    assert voice["voice"]["reference_duration_s"] > 2.0
    err = error_of(trusting.handle({"action": "voices.create", "name": "Huge", "audio_url": clip_server + "/huge.wav"}))
    assert err["code"] == "audio_invalid" and "limit" in err["message"]
    err = error_of(trusting.handle({"action": "voices.create", "name": "Gone", "audio_url": clip_server + "/nope"}))
    assert err["code"] == "audio_invalid" and "404" in err["message"]


def test_fit_without_a_speaker_encoder_is_a_clear_error_and_writes_nothing(worker, speech_clip, tmp_path,
                                                                         monkeypatch):
    from backends.speaker_encoder import SpeakerEncoder

    monkeypatch.setenv("SPEAKER_ENCODER_WEIGHTS", str(tmp_path / "missing.pt"))
    SpeakerEncoder.load.cache_clear()
    try:
        err = error_of(worker.handle({"action": "voices.create", "name": "Fit Me", "audio_base64": speech_clip}))
    finally:
        SpeakerEncoder.load.cache_clear()
    assert err["code"] == "backend_unavailable" and "resemblyzer" in err["hint"] and "no torch" in err["hint"]
    assert not (tmp_path / "voices/fit-me").exists()
    err = error_of(worker.handle({"action": "voices.create", "name": "X", "blend": {"jf_alpha": 1, "jm_kumo": 1}, "fit": True}))
    assert err["code"] == "invalid_input"


def test_a_clip_makes_a_usable_kokoro_voice_out_of_the_box(worker, kokoro_worker):
    """No option needed: a clip uploaded to Kokoro is fitted (voice matching) and speaks; a clip spoken by
    jf_nezumi comes out as mostly jf_nezumi."""
    clip = kokoro_worker.handle({"text": "Every morning I walk along the river and count the boats that pass by.",
                                 "voice": "jf_nezumi", "format": "wav"})["audio_base64"]
    voice = worker.handle({"action": "voices.create", "name": "Fitted", "audio_base64": clip, "fit_budget": 6})["voice"]
    assert voice["source"] == "fit" and voice["usable"] and "not cloning" in voice["note"]
    assert voice["fit_similarity"] > 0.8 and max(voice["blend"], key=voice["blend"].get) == "jf_nezumi"
    result = worker.handle({"text": "The fitted voice speaks.", "voice": "fitted", "format": "wav"})
    samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
    assert rate == 24_000 and np.sqrt(np.mean(samples ** 2)) > 0.01


def test_voices_list_says_why_a_voice_is_not_usable(worker, speech_clip):
    worker.handle({"action": "voices.create", "name": "Stored Only", "audio_base64": speech_clip, "fit": False})
    listed = {v["id"]: v for v in worker.handle({"action": "voices.list"})["voices"]}
    assert listed["stored-only"]["usable"] is False and "fit" in listed["stored-only"]["reason"]
    assert listed["jm_kumo"]["usable"] and "reason" not in listed["jm_kumo"]
