"""Batch jobs: one result per item in order, a bad item fails only itself, one ZIP of all files, the size limit."""
import base64
import io
import json
import zipfile
from dataclasses import replace

from jobcore import audio
from jobcore.worker import Worker
from tests.support.jobs import error_of

TEXTS = ["First item.", "The second item is a little longer than the first.", "Third. It has two sentences."]


def duration(data: bytes) -> float:
    samples, rate = audio.decode(data)
    return len(samples) / rate


def test_results_come_back_in_order_and_match_separate_jobs(hibari_worker):
    result = hibari_worker.handle({"batch": [{"text": t, "format": "wav"} for t in TEXTS]})
    assert result["items"] == 3 and result["failed"] == 0
    assert [r["index"] for r in result["results"]] == [0, 1, 2]
    for text, item in zip(TEXTS, result["results"]):
        alone = hibari_worker.handle({"text": text, "format": "wav"})
        assert item["audio_base64"] == alone["audio_base64"]          # deterministic backend: same bytes
        assert [s["text"] for s in item["sentences"]] == [s["text"] for s in alone["sentences"]]
        assert abs(duration(base64.b64decode(item["audio_base64"])) - item["duration_s"]) < 0.05


def test_a_bad_item_fails_only_itself_with_a_structured_error(hibari_worker):
    result = hibari_worker.handle({"batch": [
        {"text": "Fine."}, {"text": "Bad format.", "format": "aiff"}, {"text": "No such voice.", "voice": "nobody"},
        {"text": "Unknown field.", "colour": "blue"}, {"text": "..."}, "not an object", {"text": "Also fine."}]})
    codes = [r.get("error", {}).get("code") for r in result["results"]]
    assert codes == [None, "unsupported_format", "voice_not_found", "invalid_input", "invalid_input",
                     "invalid_input", None]
    assert result["failed"] == 5
    for item in result["results"]:
        if "error" in item:
            assert set(item["error"]) == {"code", "message", "hint"} and item["error"]["message"]
        else:
            assert duration(base64.b64decode(item["audio_base64"])) > 0.2


def test_zip_holds_every_file_decodable_at_its_duration(hibari_worker):
    items = [{"text": TEXTS[0], "format": "wav"}, {"text": TEXTS[1], "format": "flac", "captions": "srt"},
             {"text": TEXTS[2], "format": "mp3"}, {"text": "Broken.", "speed": 9}]
    result = hibari_worker.handle({"batch": items, "zip": True})
    assert all("audio_base64" not in r for r in result["results"])
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(result["zip"]["zip_base64"])))
    assert sorted(archive.namelist()) == ["000.wav", "001.flac", "001.srt", "002.mp3", "index.json"]
    for name, item in zip(["000.wav", "001.flac", "002.mp3"], result["results"]):
        assert abs(duration(archive.read(name)) - item["duration_s"]) < 0.06
    assert archive.read("001.srt").decode().startswith("1\n00:00:00,000 --> ")
    index = json.loads(archive.read("index.json"))
    assert [i["index"] for i in index] == [0, 1, 2, 3] and index[3]["error"]["code"] == "invalid_input"


def test_the_item_limit_is_enforced_with_a_clear_error(hibari_worker):
    small = Worker(replace(hibari_worker.settings, max_batch_items=2), hibari_worker.backend, hibari_worker.library)
    error = error_of(small.handle({"batch": [{"text": "One."}, {"text": "Two."}, {"text": "Three."}]}))
    assert error["code"] == "invalid_input" and "3 items" in error["message"] and "limit is 2" in error["message"]
    assert "MAX_BATCH_ITEMS" in error["hint"]
    assert small.handle({"batch": [{"text": "One."}, {"text": "Two."}]})["failed"] == 0


def test_batch_fields_are_checked_like_any_job(hibari_worker):
    assert error_of(hibari_worker.handle({"batch": []}))["code"] == "invalid_input"
    assert "unknown field 'text'" in error_of(hibari_worker.handle({"batch": [{"text": "A."}], "text": "B."}))["message"]
    assert hibari_worker.handle({"action": "batch", "batch": [{"text": "A."}]})["items"] == 1


def test_items_with_different_voices_and_speeds_each_get_their_own(kokoro_worker):
    items = [{"text": "Hello from the first voice.", "voice": "jf_alpha"},
             {"text": "Hello from the second voice.", "voice": "jm_kumo", "speed": 1.3},
             {"text": "And the first voice again. With a second sentence.", "voice": "jf_alpha"}]
    result = kokoro_worker.handle({"batch": [{**i, "format": "wav"} for i in items]})
    assert [r["voice"] for r in result["results"]] == ["jf_alpha", "jm_kumo", "jf_alpha"]
    for item, got in zip(items, result["results"]):
        alone = kokoro_worker.handle({**item, "format": "wav"})
        assert abs(got["duration_s"] - alone["duration_s"]) < 0.05
