"""The run manifest beside a document's output: what each part is, its job, and its finished audio, for resume."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from .split import DocPart

log = logging.getLogger(__name__)
VERSION = 1
PENDING, SUBMITTED, DONE, FAILED = "pending", "submitted", "done", "failed"


def settings_key(job: dict, part_chars: int, pauses: dict) -> str:
    """What makes finished parts reusable: the job fields, the part size and the pauses."""
    blob = json.dumps({"job": job, "part_chars": part_chars, "pauses": pauses}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class RunManifest:
    """`<out>.manifest.json` (rewritten atomically on every change) and the parts' pcm in `<out>.parts/`.

    A part is reused on a rerun when its index, text hash and the settings match and its pcm file holds the
    recorded number of samples; a part that was submitted but not finished is re-attached by its job id.
    """

    def __init__(self, out: Path, key: str, parts: list[DocPart]):
        self.path = out.with_name(out.name + ".manifest.json")
        self.parts_dir = out.with_name(out.name + ".parts")
        self._lock = threading.Lock()
        self.data = {"version": VERSION, "settings_key": key, "sample_rate": None,
                     "parts": [{"index": p.index, "text_hash": p.text_hash, "chars": p.chars, "status": PENDING,
                                "job_id": None, "attempts": 0} for p in parts]}
        self._adopt_previous(key)

    @property
    def parts(self) -> list[dict]:
        return self.data["parts"]

    def _adopt_previous(self, key: str) -> None:
        try:
            old = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring an unreadable manifest %s: %s", self.path, exc)
            return
        if old.get("version") != VERSION or old.get("settings_key") != key:
            log.warning("the settings changed since the last run: starting over")
            return
        self.data["sample_rate"] = old.get("sample_rate")
        previous = {(p.get("index"), p.get("text_hash")): p for p in old.get("parts", [])}
        for part in self.parts:
            before = previous.get((part["index"], part["text_hash"]))
            if before is None:
                continue
            if before.get("status") == DONE and self._intact(before):
                part.update(before)
            elif before.get("status") == SUBMITTED and before.get("job_id"):
                part.update(job_id=before["job_id"], status=SUBMITTED)

    def _intact(self, part: dict) -> bool:
        path = self.parts_dir / str(part.get("file", ""))
        return path.is_file() and path.stat().st_size == 2 * int(part.get("samples", -1))

    def pcm_path(self, index: int) -> Path:
        return self.parts_dir / f"{index:05d}.pcm"

    def update(self, index: int, **fields) -> None:
        with self._lock:
            self.parts[index].update(fields)
            self._save()

    def set_rate(self, rate: int) -> None:
        """The sample rate of every part: the first finished part sets it; another rate is an error."""
        with self._lock:
            if self.data["sample_rate"] is None:
                self.data["sample_rate"] = rate
                self._save()
            elif self.data["sample_rate"] != rate:
                raise ValueError(f"a part came back at {rate} Hz, the others at {self.data['sample_rate']} Hz")

    def save(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
