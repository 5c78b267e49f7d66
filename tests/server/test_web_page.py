"""The web page at / in a real browser (Debian's Chromium, headless, driven by Playwright) against the real local
server on the Kokoro worker: speak with streamed playback and moving word highlights, a voice uploaded, listed
and deleted, a dialog rendered, a Markdown document rendered by chapters, and the API key asked once."""
from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server import ServerSettings, create_app
from tests.support.servers import API_KEY, serve
from tests.support.speech import transcribe, wer

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]   # a fake microphone (a beep)
SHOTS = Path(__file__).resolve().parents[2] / "out" / "browser"     # screenshots kept as artifacts (gitignored)

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (make browser)")


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    """A fresh profile each run; Chromium's own network calls are turned off (this machine refuses them)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1100, "height": 900})
        yield context
        context.close()


@pytest.fixture
def page(browser_context, local_url):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(local_url + "/")
    page.wait_for_selector("#voice-table tbody tr")           # info and voices.list answered
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_speak_streams_plays_and_highlights_words(page):
    page.click("nav button[data-tab=speak]")
    page.fill("#speak-text", "The quick brown fox jumps over the lazy dog. Then it runs far away into the "
                             "green forest, and nobody sees it again.")
    page.select_option("#speak-voice", "jf_alpha")
    page.click("#speak-play")
    page.wait_for_function("document.querySelector('#speak-words').children.length > 0", timeout=60_000)
    # playback starts from the first streamed chunk, before the job is done
    page.wait_for_function("!document.querySelector('#speak-audio').paused", timeout=30_000)
    lit = []
    for _ in range(400):                                     # watch the highlighted word move while it plays
        index = page.evaluate("[...document.querySelectorAll('#speak-words span')].findIndex(s => s.classList.contains('now'))")
        if index >= 0 and (not lit or lit[-1] != index):
            lit.append(index)
        if page.evaluate("document.querySelector('#speak-audio').ended"):
            break
        if len(lit) == 4:
            page.screenshot(path=str(SHOTS / "speak-playing.png"))
        page.wait_for_timeout(50)
    assert len(lit) >= 5 and lit == sorted(lit), f"the highlighted word did not move forward: {lit}"
    page.wait_for_selector("#speak-download:not(.hidden)", timeout=60_000)
    page.wait_for_selector("#speak-msg.ok")
    duration = page.evaluate("document.querySelector('#speak-audio').duration")   # the decoded, appended audio
    words = page.evaluate("[...document.querySelectorAll('#speak-words span')].map(s => s.textContent)")
    last_end = page.evaluate("Number([...document.querySelectorAll('#speak-words span')].at(-1).dataset.end)")
    assert 6.0 < duration < 20.0 and abs(duration - last_end) < 1.5, (duration, last_end)
    assert words[:4] == ["The", "quick", "brown", "fox"] and "forest" in words
    srt = page.evaluate("fetch(document.querySelector('#speak-srt').href).then(r => r.text())")
    vtt = page.evaluate("fetch(document.querySelector('#speak-vtt').href).then(r => r.text())")
    assert srt.startswith("1\n00:00:00,") and "\n2\n" in srt and "lazy dog." in srt
    assert vtt.startswith("WEBVTT\n\n00:00:00.") and "green forest" in vtt
    page.screenshot(path=str(SHOTS / "speak-done.png"))


def test_speak_shows_structured_errors(page):
    page.click("nav button[data-tab=speak]")
    page.fill("#speak-blend", "no_such_voice")
    page.click("#speak-play")
    page.wait_for_selector("#speak-msg.error", timeout=30_000)
    assert page.text_content("#speak-msg").startswith("voice_not_found: ")
    page.fill("#speak-blend", "")
    page.fill("#speak-speed", "9")
    page.click("#speak-play")
    page.wait_for_function("document.querySelector('#speak-msg').textContent.includes('speed')", timeout=30_000)
    assert page.text_content("#speak-msg").startswith("invalid_input: ")


def clip_wav(kokoro_worker) -> bytes:
    result = kokoro_worker.handle({"text": "This is a short reference clip for a new voice.", "format": "wav",
                                   "output": "base64"})
    return base64.b64decode(result["audio_base64"])


def test_upload_a_clip_list_it_and_delete_it(page, kokoro_worker, tmp_path):
    clip = tmp_path / "narrator.wav"
    clip.write_bytes(clip_wav(kokoro_worker))
    page.fill("#create-form input[name=name]", "Browser Narrator")
    page.set_input_files("#create-form input[name=clip]", str(clip))
    page.fill("#create-form input[name=transcript]", "This is a short reference clip for a new voice.")
    page.click("#create-form button[type=submit]")
    page.wait_for_selector("#create-msg.ok", timeout=60_000)
    row = page.locator("#voice-table tr[data-voice=browser-narrator]")
    assert row.count() == 1 and "Browser Narrator" in row.inner_text()
    assert "not usable here" in page.text_content("#create-msg")      # Kokoro stores clips for cloning backends
    page.fill("#voice-search", "narrator")
    assert page.locator("#voice-table tbody tr").count() == 1
    page.screenshot(path=str(SHOTS / "voices-created.png"))
    page.once("dialog", lambda dialog: dialog.accept())                # the confirmation
    row.locator("button.delete").click()
    page.wait_for_selector("#voice-table tr[data-voice=browser-narrator]", state="detached", timeout=30_000)
    assert kokoro_worker.handle({"action": "voices.get", "voice": "browser-narrator"})["error"]


def test_record_from_the_microphone_and_create_a_voice(page, kokoro_worker):
    page.click("#record")
    page.wait_for_selector("#record-state:text('recording')")
    page.wait_for_timeout(2500)
    page.click("#record")
    page.wait_for_selector("#record-state:text('recorded')", timeout=30_000)
    seconds = float(page.text_content("#record-state").split()[1])
    assert 2.0 <= seconds < 6.0
    page.fill("#create-form input[name=name]", "Mic Voice")
    page.fill("#create-form input[name=transcript]", "A beep.")
    page.click("#create-form button[type=submit]")
    page.wait_for_selector("#create-msg.ok", timeout=60_000)
    voice = kokoro_worker.handle({"action": "voices.get", "voice": "mic-voice"})["voice"]
    assert voice["source"] == "clip" and abs(voice["reference_duration_s"] - seconds) < 1.0
    kokoro_worker.handle({"action": "voices.delete", "voice": "mic-voice"})


def test_blend_from_sliders_and_preview(page, kokoro_worker):
    page.check("#create-form input[value=blend]")
    page.fill("#create-form input[name=name]", "Slider Mix")
    page.locator("#blend-sliders input[data-voice=jf_alpha]").fill("70")
    page.locator("#blend-sliders input[data-voice=jm_kumo]").fill("30")
    page.click("#create-form button[type=submit]")
    page.wait_for_selector("#create-msg.ok", timeout=60_000)
    voice = kokoro_worker.handle({"action": "voices.get", "voice": "slider-mix"})["voice"]
    assert voice["usable"] and voice["source"] == "blend" and voice["blend"] == {"jf_alpha": 70.0, "jm_kumo": 30.0}
    page.locator("#voice-table tr[data-voice=slider-mix] button.preview").click()
    page.wait_for_selector("#voices-msg.ok", timeout=60_000)
    assert page.text_content("#voices-msg").startswith("Playing Slider Mix")
    assert page.evaluate("document.querySelector('#preview').duration") > 1.0
    kokoro_worker.handle({"action": "voices.delete", "voice": "slider-mix"})


def test_dialog_renders_one_file(page):
    page.click("nav button[data-tab=dialog]")
    lines = page.locator("#dialog-lines .line")
    assert lines.count() == 2
    lines.nth(0).locator("select").select_option("jf_alpha")
    lines.nth(1).locator("select").select_option("jm_kumo")
    page.select_option("#dialog-format", "wav")
    page.click("#dialog-render")
    page.wait_for_selector("#dialog-msg.ok", timeout=60_000)
    assert page.locator("#dialog-turns li").count() == 2
    data = bytes(page.evaluate("fetch(document.querySelector('#dialog-download').href)"
                               ".then(r => r.arrayBuffer()).then(b => [...new Uint8Array(b)])"))
    audio, rate = sf.read(io.BytesIO(data))
    assert rate == 24000 and 2.0 < len(audio) / rate < 10.0
    assert wer("Hi! Did you hear the news? I did. It sounds wonderful.", transcribe(audio.astype(np.float32), rate)) < 0.3
    assert page.locator("#dialog-turns li").nth(1).inner_text().startswith("jm_kumo")
    page.screenshot(path=str(SHOTS / "dialog.png"))


def test_markdown_document_renders_by_chapters(page, tmp_path):
    doc = tmp_path / "story.md"
    doc.write_text("# The Start\n\nA *short* opening line.\n\n## The Middle\n\nThen something happened, "
                   "as [stories](http://example.com) go.\n\n## The End\n\nAnd that was all.\n")
    page.click("nav button[data-tab=document]")
    page.set_input_files("#doc-file", str(doc))
    page.select_option("#doc-format", "wav")
    page.click("#doc-render")
    page.wait_for_selector("#doc-msg.ok", timeout=120_000)
    assert page.evaluate("document.querySelector('#doc-progress').value") == 1
    chapters = page.locator("#doc-chapters li").all_inner_texts()
    assert [c.split(" — ")[0] for c in chapters] == ["The Start", "The Middle", "The End"]
    data = bytes(page.evaluate("fetch(document.querySelector('#doc-download').href)"
                               ".then(r => r.arrayBuffer()).then(b => [...new Uint8Array(b)])"))
    audio, rate = sf.read(io.BytesIO(data))
    assert rate == 24000 and 4.0 < len(audio) / rate < 20.0
    heard = transcribe(audio.astype(np.float32), rate)     # the chapters joined in order, headings spoken
    assert wer("The Start. A short opening line. The Middle. Then something happened, as stories go. The End. "
               "And that was all.", heard) < 0.35, heard
    assert page.evaluate("document.querySelector('#doc-download').download") == "story.wav"
    page.screenshot(path=str(SHOTS / "document.png"))


def test_api_key_is_asked_once_and_kept_for_the_tab(browser_context, kokoro_worker):
    with serve(create_app(kokoro_worker, ServerSettings(api_key=API_KEY))) as url:
        page = browser_context.new_page()
        page.goto(url + "/")
        page.wait_for_selector("#key-dialog[open]", timeout=30_000)
        page.fill("#key-input", "wrong-key")
        page.click("#key-form button")
        page.wait_for_selector("#key-dialog[open]", timeout=30_000)      # a wrong key is asked for again
        page.fill("#key-input", API_KEY)
        page.click("#key-form button")
        page.wait_for_selector("#voice-table tbody tr", timeout=30_000)
        page.reload()                                                    # kept for the tab: not asked again
        page.wait_for_selector("#voice-table tbody tr", timeout=30_000)
        assert not page.evaluate("document.querySelector('#key-dialog').open")
        page.close()
