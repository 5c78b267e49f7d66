"""Batch jobs: many synthesize inputs in one job, one result each in order, their sentences synthesized together."""
from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from common.errors import InternalError, InvalidInput, JobCancelled, JobError, TextTooLong
from common.formats import FORMATS

from .context import JobContext
from .outputs import Outputs, Planned
from .pipeline import Part, Spoken
from .schema import BatchRequest, SynthesizeRequest, validate_request
from .settings import Settings
from .synthesis import Plan, Synthesis, ms_since

log = logging.getLogger(__name__)

WINDOW_ITEMS = 8     # items synthesized together at most; each is finished before the next window starts


@dataclass
class _Item:
    index: int
    planned: Planned | None = None
    result: dict | None = None
    data: bytes | None = None
    made: Spoken | None = None     # its sentences, synthesized together with the other items'

    @property
    def pending(self) -> bool:
        return self.result is None

    @property
    def plan(self) -> Plan:
        assert self.planned is not None
        return self.planned.plan


class Batch:
    def __init__(self, settings: Settings, synthesis: Synthesis, outputs: Outputs):
        self.settings, self.synthesis, self.outputs = settings, synthesis, outputs

    def run(self, req: BatchRequest, job: JobContext) -> dict:
        """Plan every item (the whole batch's spoken size checked against MAX_BATCH_CHARS before any synthesis),
        then synthesize a window of items at a time and finish each item (encoded, cached, delivered or written
        into the ZIP) before the next window: no item's audio is held past its window. The job's cancellation is
        checked between items and sentences."""
        t0 = time.perf_counter()
        if len(req.batch) > self.settings.max_batch_items:
            raise InvalidInput(f"the batch has {len(req.batch)} items; the limit is {self.settings.max_batch_items}",
                               hint="split it into several batch jobs, or raise MAX_BATCH_ITEMS")
        items = [self._plan(index, raw, req.zip) for index, raw in enumerate(req.batch)]
        spoken = sum(i.plan.spoken_chars for i in items if i.planned is not None)
        if spoken > self.settings.max_batch_chars:
            raise TextTooLong(f"the batch's items together make {spoken} spoken characters; the limit for a batch "
                              f"is {self.settings.max_batch_chars}",
                              hint="split it into several batch jobs, or raise MAX_BATCH_CHARS")
        t1 = time.perf_counter()
        buffer = io.BytesIO() if req.zip else None
        archive = zipfile.ZipFile(buffer, "w") if buffer is not None else None
        synth_s = 0.0
        for window in self._windows(items):
            job.cancellation.check()
            started = time.perf_counter()
            self._synthesize_together([i for i in window if i.pending and i.planned is not None
                                       and i.planned.hit is None], job)
            synth_s += time.perf_counter() - started
            for item in window:
                job.cancellation.check()
                if item.pending:
                    self._guard(item, lambda item=item: self._serve(item, job))
                if archive is not None:
                    self._pack(archive, item)
                item.data = item.made = None         # written (or delivered): nothing of it is held any more
        t3 = time.perf_counter()
        done = [(i, i.result or {}) for i in items]          # every item has its result or its error by now
        result = {"results": [{"index": i.index, **r} for i, r in done], "items": len(items),
                  "failed": sum("error" in r for _, r in done)}
        if archive is not None and buffer is not None:
            index = [{"index": i.index, **{k: v for k, v in r.items() if k != "captions"}} for i, r in done]
            archive.writestr("index.json", json.dumps(index, indent=1), compress_type=zipfile.ZIP_DEFLATED)
            archive.close()
            packed = buffer.getvalue()
            buffer = None
            delivered = job.delivery.deliver(packed, "batch.zip", "application/zip", req.output, job.id)
            result["zip"] = {"bytes": len(packed), "content_type": "application/zip",
                             **{k.replace("audio_", "zip_"): v for k, v in delivered.items()}}
        result["timings_ms"] = {"plan": round((t1 - t0) * 1e3, 1), "synth": round(synth_s * 1e3, 1),
                                "finish": round((t3 - t1 - synth_s) * 1e3, 1), "total": ms_since(t0)}
        return result

    def _windows(self, items: list[_Item]) -> Iterator[list[_Item]]:
        """Consecutive items, a window at a time: at most WINDOW_ITEMS, and about one job's spoken size
        (MAX_TEXT_CHARS), so the audio held at once is bounded like one job's while the backend still gets
        several sentences to work on together."""
        window: list[_Item] = []
        size = 0
        for item in items:
            window.append(item)
            size += item.plan.spoken_chars if item.planned is not None else 0
            if len(window) >= WINDOW_ITEMS or size >= self.settings.max_text_chars:
                yield window
                window, size = [], 0
        if window:
            yield window

    # -- steps ----------------------------------------------------------------------------------
    def _plan(self, index: int, raw, packed: bool) -> _Item:
        """Validate and plan one item, and look it up in the output cache."""
        item = _Item(index)

        def plan() -> None:
            request = validate_request(raw, {"synthesize": SynthesizeRequest})
            if request.stream:
                raise InvalidInput("stream is not available inside a batch", hint="drop stream from the item")
            plan = self.synthesis.plan(request)
            item.planned = self.outputs.planned(plan, None if packed else request.output, request.cache,
                                                f"item-{index:03d}.{FORMATS[plan.format].extension}")

        self._guard(item, plan)
        return item

    def _synthesize_together(self, items: list[_Item], job: JobContext) -> None:
        """One synthesize_many call per (voice, speed, seed, params) over every pending item's sentences, so a
        backend that works on several sentences at once (Kokoro) gets them all."""
        groups: dict[tuple, list[tuple[_Item, int, Part]]] = {}
        for item in items:
            item.made = [[] for _ in item.plan.parts]
            for number, part in enumerate(item.plan.parts):
                params = part.params.model_dump_json() if part.params is not None else None
                groups.setdefault((id(part.embedding), part.speed, part.seed, params), []).append((item, number, part))
        backend = self.synthesis.backend
        for members in groups.values():
            first = members[0][2]
            texts = [sentence for _, _, part in members for sentence in part.sentences]
            started = time.perf_counter()
            try:
                spoken = iter(self._made(backend.synthesize_many(texts, first.embedding, speed=first.speed,
                                                                 seed=first.seed, params=first.params), job))
            except JobCancelled:
                raise
            except Exception as exc:  # the whole group fails; other groups go on
                for item, _, _ in members:
                    self._fail(item, exc)
                continue
            finally:   # the replay counts the audio seconds; the time spent making them is spent here
                self.synthesis.metrics.inc("synthesis_seconds", time.perf_counter() - started)
            for item, number, part in members:
                assert item.made is not None
                item.made[number] = [next(spoken) for _ in part.sentences]

    @staticmethod
    def _made(sentences: Iterator, job: JobContext) -> list:
        """Every sentence of a group, the job's cancellation checked between them (the generator closed after)."""
        made = []
        try:
            for chunks in sentences:
                made.append(chunks)
                job.cancellation.check()
        finally:
            close = getattr(sentences, "close", None)
            if close is not None:
                close()
        return made

    def _serve(self, item: _Item, job: JobContext) -> None:
        """The item through the one output path; its sentences made together with the others' (or, for a cache
        hit gone since the lookup, now)."""
        assert item.planned is not None
        served = self.outputs.serve(item.planned, job, lambda: self.synthesis.render(item.plan, job, made=item.made))
        item.result, item.data = served.result, served.data

    @staticmethod
    def _pack(archive: zipfile.ZipFile, item: _Item) -> None:
        """An item's file as NNN.<ext> (and NNN.srt/.vtt captions) into the batch's ZIP, as soon as it is made."""
        if item.data is None or item.result is None:
            return
        fmt = item.plan.format
        compress = zipfile.ZIP_DEFLATED if fmt in ("wav", "pcm") else zipfile.ZIP_STORED
        archive.writestr(f"{item.index:03d}.{FORMATS[fmt].extension}", item.data, compress_type=compress)
        if item.plan.captions and "captions" in item.result:
            archive.writestr(f"{item.index:03d}.{item.plan.captions}", item.result["captions"],
                             compress_type=zipfile.ZIP_DEFLATED)

    def _guard(self, item: _Item, step) -> None:
        """One item's failure becomes its own structured error; the batch goes on (a cancel ends it)."""
        try:
            step()
        except JobCancelled:
            raise
        except Exception as exc:
            self._fail(item, exc)

    @staticmethod
    def _fail(item: _Item, exc: Exception) -> None:
        if not isinstance(exc, JobError):
            log.exception("batch item %d crashed", item.index, exc_info=exc)
            exc = InternalError("this item hit an unexpected error; it is logged", hint="retry it alone")
        item.result, item.data = {"error": exc.to_dict()}, None
