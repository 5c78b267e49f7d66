"""Import a folder of reference clips into a voice library by sending voices.create jobs to a real worker."""
from __future__ import annotations

import base64
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from jobcore.settings import Settings, load_settings
from jobcore.worker import Worker

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


@dataclass(frozen=True)
class ImportResult:
    file: str
    status: str             # created | skipped | failed
    detail: str = ""        # the voice id, or the error code and message


def find_clips(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def import_voices(directory: str | Path, library_uri: str, backend: str | None = None,
                  settings: Settings | None = None, fit: bool | None = None) -> list[ImportResult]:
    """One voices.create job per clip (name = file stem, transcript = same-stem .txt when present); `fit` None
    leaves it to the backend (Kokoro fits a voice to each clip), False stores the clips only."""
    base = settings or load_settings()
    settings = dataclasses.replace(base, voice_library_uri=library_uri, backend=backend or base.backend, warmup=False)
    worker = Worker.from_settings(settings)
    try:
        return [import_clip(worker, clip, fit) for clip in find_clips(Path(directory))]
    finally:
        worker.backend.close()


def import_clip(worker: Worker, clip: Path, fit: bool | None = None) -> ImportResult:
    job = {"action": "voices.create", "name": clip.stem,
           "audio_base64": base64.b64encode(clip.read_bytes()).decode("ascii")}
    if fit is not None:
        job["fit"] = fit
    transcript_file = clip.with_suffix(".txt")
    if transcript_file.is_file() and (transcript := transcript_file.read_text(encoding="utf-8").strip()):
        job["transcript"] = transcript
    result = worker.handle(job, job_id=f"import-{clip.stem}")
    if "error" in result:
        error = result["error"]
        status = "skipped" if error.code == "voice_exists" else "failed"
        outcome = ImportResult(clip.name, status, f"{error.code}: {error.message}")
    else:
        outcome = ImportResult(clip.name, "created", result["voice"]["id"])
    log.log(logging.WARNING if outcome.status == "failed" else logging.INFO, "%s %s (%s)",
            outcome.status, outcome.file, outcome.detail)
    return outcome
