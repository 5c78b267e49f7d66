"""Voice resolution: cold from S3, warm from the cache, versus the temp-WAV-file path of earlier workers."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import soundfile as sf

from bench.common import interleaved, save, summary
from common.logs import setup_logging
from jobcore import audio
from jobcore.settings import Settings
from jobcore.worker import Worker
from storage.s3_store import S3Store
from tests.support.seaweed import seaweed_server
from voice_library import ByteLRU, VoiceLibrary

log = logging.getLogger(__name__)
ROUNDS = 30


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp, seaweed_server(Path(tmp) / "weed", "benchkey", "benchsecret-0123") as s3:
        store = S3Store.from_uri("s3://bench/lib", endpoint_url=s3.endpoint_url, access_key_id=s3.access_key,
                                 secret_access_key=s3.secret_key)
        store.ensure_bucket()
        settings = Settings(voice_library_uri="s3://bench/lib", s3_endpoint_url=s3.endpoint_url,
                            s3_access_key_id=s3.access_key, s3_secret_access_key=s3.secret_key, warmup=False)
        worker = Worker.from_settings(settings)
        clip = worker.handle({"text": "A ten second reference clip is typical for voice cloning, so this one "
                                      "keeps talking for a while about nothing in particular.", "format": "wav"})
        worker.handle({"action": "voices.create", "name": "Bench Clip", "audio_base64": clip["audio_base64"]})
        key = worker.backend.embedding_key
        warm = VoiceLibrary(store, ByteLRU(64 << 20))

        def cold_s3():
            library = VoiceLibrary(store, ByteLRU(64 << 20))       # a fresh worker: nothing cached
            library.resolve("bench-clip")
            library.embedding("jm_kumo", key)
            audio.decode(library.reference("bench-clip"))

        def warm_cache():
            warm.resolve("bench-clip")
            warm.embedding("jm_kumo", key)
            warm.reference("bench-clip")   # cached bytes; decode happens once per voice in a cloning backend

        reference, rate = audio.decode(warm.reference("bench-clip"))

        def temp_wav_file():
            """The seed's path: audio array -> WAV temp file -> read back -> resample for the model."""
            with tempfile.NamedTemporaryFile(suffix=".wav") as f:
                sf.write(f.name, reference, rate)
                back, back_rate = sf.read(f.name, dtype="float32")
                audio.resample(back, back_rate, 16_000)

        times = interleaved({"cold_s3": cold_s3, "warm_cache": warm_cache, "temp_wav_file": temp_wav_file}, ROUNDS)
        result = {"benchmark": "voice_resolution", "reference_s": round(len(reference) / rate, 2),
                  **summary(times, "warm_cache"),
                  "notes": "cold_s3 = a fresh library: voice.json + a Kokoro embedding + the reference FLAC read "
                           "from SeaweedFS on loopback and the clip decoded. warm_cache = the same three reads "
                           "served by the in-memory LRU. temp_wav_file = the earlier design: the cached array "
                           "written to a WAV temp file, read back and resampled to 16 kHz."}
    save("voice_resolution", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
