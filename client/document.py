"""Whole documents over many workers: split, fan the parts out as jobs, retry, resume, stitch into one file."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .api import TERMINAL, TTSClient, TTSError, TTSHTTPError, TTSJobError, TTSRequestTimeout, TTSTimeout, single_output
from .formats import DEFAULT_FORMAT, FORMATS, format_for_path
from .progress import ProgressBar
from .resume import DONE, FAILED, SUBMITTED, RunManifest, settings_key, write_atomically
from .retries import DeadlinePassed, Retries, retryable
from .split import DocPart, split_document
from .stitch import Pauses, chunks, partial, timeline, write_audio, write_side_files

log = logging.getLogger(__name__)


class _Stopped(TTSError):
    """A part not started because the run is stopping."""


@dataclass
class DocumentResult:
    out: Path
    duration_s: float
    sample_rate: int
    parts: int
    reused: int                 # parts taken from an earlier run's manifest
    submitted: int              # jobs sent in this run (retries included)
    execution_s: float          # the parts' synthesis time at the workers (executionTime), summed
    stitch_s: float = 0.0       # from the last part's arrival to the end: the rest of the encode, side files
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class _Outcome:
    part: DocPart
    pcm: bytes
    output: dict
    execution_ms: float


def render_document(client: TTSClient, document: str, out: str | Path, *, voice: str | None = None,
                    format: str | None = None, parallel: int = 4, part_chars: int = 1000, speed: float | None = None,
                    sample_rate: int | None = None, captions: str | None = None, pauses: Pauses = Pauses(),
                    retries: int = 2, timeout: float = 900.0, deadline: float | None = None, keep_parts: bool = False,
                    progress: bool = False, fields: dict | None = None) -> DocumentResult:
    """Speak a document of any length into `out` (format from its extension unless given).

    Parts go out as `/run` jobs (pcm, so joining is exact), at most `parallel` at once; each finished part is
    written to `<out>.parts/` and recorded in `<out>.manifest.json`, so a rerun after an interruption skips
    finished parts and re-attaches to submitted ones. Beside `out`: `<stem>.timings.json` (sentences and
    chapters on the joined audio), `<stem>.ffmetadata` (chapters) and `<stem>.srt|vtt` when `captions` is set.
    Each part gets `retries` more tries after failures that may pass (submit, poll or download), a job at most
    `timeout` seconds; `deadline` bounds the whole run.
    """
    out = Path(out)
    fmt = (format or format_for_path(out.name) or DEFAULT_FORMAT).lower()
    if fmt not in FORMATS:
        raise TTSError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    split = split_document(document, part_chars)
    if not split.parts:
        raise TTSError("the document has nothing to speak")
    job = {"format": "pcm", "gap_s": pauses.paragraph, **(fields or {})}
    for name, value in (("voice", voice), ("speed", speed), ("sample_rate", sample_rate)):
        if value is not None:
            job[name] = value
    manifest = RunManifest(out, settings_key(job, part_chars, asdict(pauses)), split.parts)
    manifest.save()
    runner = _Runner(client, manifest, job, Retries(retries, deadline), timeout)
    bar = ProgressBar(sum(p.chars for p in split.parts), len(split.parts)) if progress else None
    reused = 0
    for part, record in zip(split.parts, manifest.parts):
        if record["status"] == DONE:
            reused += 1
            if bar:
                bar.advance(part.chars, record["samples"] / manifest.data["sample_rate"], fresh=False)
    todo = [p for p, r in zip(split.parts, manifest.parts) if r["status"] != DONE]
    failures: list[str] = []
    encoder = _Encoder(out, fmt, split.parts, manifest, pauses)
    for part, record in zip(split.parts, manifest.parts):
        if record["status"] == DONE:
            encoder.ready(part.index)
    pool = ThreadPoolExecutor(max(1, parallel), thread_name_prefix="part")
    try:
        running: set[Future] = {pool.submit(runner.run, part) for part in todo}
        while running and encoder.error is None:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                if future.cancelled():
                    continue
                try:
                    outcome = future.result()
                    seconds = runner.store(outcome)
                except _Stopped:
                    continue
                except TTSError as exc:   # retries are spent: the rest would likely fail alike, so stop early
                    failures.append(str(exc))
                    runner.stopping = True
                    for waiting in running:
                        waiting.cancel()
                    continue
                encoder.ready(outcome.part.index)
                if bar:
                    bar.advance(outcome.part.chars, seconds, f"part {outcome.part.index} done")
    finally:   # interrupted: parts in flight stay "submitted" in the manifest and are re-attached on a rerun
        runner.stopping = True
        pool.shutdown(wait=False, cancel_futures=True)
        if failures or running:
            encoder.abandon()
        if bar:
            bar.close()
    if failures:
        raise TTSError(f"stopped: {failures[0]} (finished parts are kept; rerun the same command to go on)")
    stitch_started = time.perf_counter()
    encoder.finish()
    rate = manifest.data["sample_rate"]
    timings = timeline(split.parts, manifest.parts, split.chapters, rate, pauses)
    timings["parts"] = [{"index": p.index, "chars": p.chars, "pause_before": p.pause, "job_id": r["job_id"],
                         "samples": r["samples"], "execution_ms": r.get("execution_ms")}
                        for p, r in zip(split.parts, manifest.parts)]
    files = write_side_files(out, timings, captions)
    if not keep_parts:
        for record in manifest.parts:
            (manifest.parts_dir / record["file"]).unlink(missing_ok=True)
        try:
            manifest.parts_dir.rmdir()
        except OSError:
            pass
        manifest.path.unlink(missing_ok=True)
    return DocumentResult(out, timings["duration_s"], rate, len(split.parts), reused, runner.submitted,
                          sum(r.get("execution_ms") or 0 for r in manifest.parts) / 1e3,
                          round(time.perf_counter() - stitch_started, 3), files)


class _Encoder:
    """Encodes the output while parts still arrive: each part as soon as it and every part before it are in."""

    def __init__(self, out: Path, fmt: str, parts: list[DocPart], manifest: RunManifest, pauses: Pauses):
        self.out, self.fmt, self.parts, self.manifest, self.pauses = out, fmt, parts, manifest, pauses
        self._ready = [threading.Event() for _ in parts]
        self._abandoned = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="encoder", daemon=True)
        self._thread.start()

    def ready(self, index: int) -> None:
        self._ready[index].set()

    def _wait(self, index: int) -> None:
        while not self._ready[index].wait(0.2):
            if self._abandoned.is_set():
                raise _Stopped("the run stopped")

    def _run(self) -> None:
        try:
            self._wait(0)
            rate = self.manifest.data["sample_rate"]
            rates = FORMATS[self.fmt].sample_rates
            if rates is not None and rate not in rates:
                raise TTSError(f"{self.fmt} cannot be written at {rate} Hz; pass a sample_rate it takes")
            write_audio(self.out, self.fmt, rate, chunks(self.parts, self.manifest.parts, self.manifest.parts_dir,
                                                         rate, self.pauses, ready=self._wait))
        except BaseException as exc:   # handed to the main thread
            self.error = exc
            partial(self.out).unlink(missing_ok=True)

    def finish(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error if isinstance(self.error, TTSError) else TTSError(f"writing {self.out}: {self.error}")

    def abandon(self) -> None:
        self._abandoned.set()
        self._thread.join()


class _Runner:
    """Runs one part to its audio: submit (or re-attach), poll, fetch. Every failed try (submit, poll or
    download) counts against the retries; a poll or download that fails keeps the job and asks again, a job
    that failed, expired (404) or ran past `timeout` is sent again."""

    def __init__(self, client: TTSClient, manifest: RunManifest, job: dict, retries: Retries, timeout: float):
        self.client, self.manifest, self.job, self.retries, self.timeout = client, manifest, job, retries, timeout
        self.submitted = 0
        self.stopping = False

    def run(self, part: DocPart) -> _Outcome:
        record = self.manifest.parts[part.index]
        job_id = record["job_id"] if record["status"] == SUBMITTED else None
        attempts = 0
        while not self.stopping:
            attempts += 1
            try:
                self.retries.check()
                if job_id is None:
                    job_id = self.client.run({**self.job, "segments": [{"text": t} for t in part.segments]})
                    self.submitted += 1
                    self.manifest.update(part.index, status=SUBMITTED, job_id=job_id, attempts=record["attempts"] + 1)
                payload = self._poll(job_id)
                output = single_output(payload.get("output"))
                if payload.get("status") != "COMPLETED":
                    raise TTSJobError(payload.get("error") or f"the job ended {payload.get('status')}",
                                      payload.get("status", "FAILED"))
                if not isinstance(output, dict) or "error" in output:
                    raise TTSJobError(output.get("error") if isinstance(output, dict)
                                      else f"unexpected output: {output!r:.200}")
                return _Outcome(part, self.client.audio_bytes(output), output, payload.get("executionTime") or 0)
            except DeadlinePassed as exc:
                error, retry = exc, False
            except TTSError as exc:
                error, retry = exc, retryable(exc)
                if job_id is None and isinstance(exc, TTSHTTPError) and exc.status_code == 404:
                    retry = False                      # /run itself is not there: a wrong --url
                if isinstance(exc, TTSJobError) or (isinstance(exc, TTSHTTPError) and exc.status_code == 404):
                    job_id = None                      # failed or expired: send it again
                elif isinstance(exc, TTSTimeout) and not isinstance(exc, TTSRequestTimeout):
                    self._cancel(job_id)               # the job ran too long: cancel it and send it again
                    job_id = None
            if self.stopping:
                break
            if not retry or attempts > self.retries.retries:
                self.stopping = True
                self.manifest.update(part.index, status=FAILED, error=str(error)[:500])
                tries = f" after {attempts} tries" if attempts > 1 else ""
                raise TTSError(f"part {part.index}{tries}: {error}") from error
            log.warning("part %d: %s; trying again", part.index, error)
            try:
                self._sleep(self.retries.delay(attempts))
            except DeadlinePassed as exc:
                self.stopping = True
                self.manifest.update(part.index, status=FAILED, error=str(exc))
                raise TTSError(f"part {part.index}: {exc} (last error: {error})") from error
        raise _Stopped(f"part {part.index}: stopped")

    def _sleep(self, seconds: float) -> None:
        ends = time.monotonic() + seconds
        while not self.stopping and (left := ends - time.monotonic()) > 0:
            time.sleep(min(0.2, left))

    def _poll(self, job_id: str) -> dict:
        """/status with backoff until the job ends; TTSTimeout past `timeout`; stops early when the run stops."""
        deadline, delay = time.monotonic() + self.retries.timeout(self.timeout), 0.1
        while True:
            payload = self.client.status(job_id)
            if payload.get("status") in TERMINAL:
                return payload
            if self.stopping:
                raise _Stopped(f"job {job_id}: stopped")
            self.retries.check()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TTSTimeout(f"job {job_id} still {payload.get('status')} after {self.timeout:.0f} s")
            time.sleep(min(delay, left))
            delay = min(delay * 2, 1.0)

    def _cancel(self, job_id: str | None) -> None:
        if job_id:
            try:
                self.client.cancel(job_id)
            except TTSError:
                pass

    def store(self, outcome: _Outcome) -> float:
        """Write a finished part's pcm and record it (on the calling thread, one at a time); its seconds."""
        rate = int(outcome.output["sample_rate"])
        if outcome.output.get("format") != "pcm" or len(outcome.pcm) % 2:
            raise TTSError(f"part {outcome.part.index} is not s16le pcm")
        try:
            self.manifest.set_rate(rate)
        except ValueError as exc:
            raise TTSError(str(exc)) from None
        path = self.manifest.pcm_path(outcome.part.index)
        write_atomically(path, outcome.pcm)
        self.manifest.update(outcome.part.index, status=DONE, file=path.name, samples=len(outcome.pcm) // 2,
                             sentences=outcome.output.get("sentences") or [], execution_ms=outcome.execution_ms,
                             **({"words": outcome.output["words"]} if outcome.output.get("words") else {}))
        return len(outcome.pcm) / 2 / rate
