"""Batch jobs: many synthesize inputs in one job, one result each in order, their sentences synthesized together."""
from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from dataclasses import dataclass

from common.errors import InternalError, InvalidInput, JobError
from common.formats import FORMATS

from .context import JobContext
from .outputs import Outputs, Planned
from .pipeline import Part, Spoken
from .schema import BatchRequest, SynthesizeRequest, validate_request
from .settings import Settings
from .synthesis import Plan, Synthesis, ms_since

log = logging.getLogger(__name__)


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
        t0 = time.perf_counter()
        if len(req.batch) > self.settings.max_batch_items:
            raise InvalidInput(f"the batch has {len(req.batch)} items; the limit is {self.settings.max_batch_items}",
                               hint="split it into several batch jobs, or raise MAX_BATCH_ITEMS")
        items = [self._plan(index, raw, req.zip) for index, raw in enumerate(req.batch)]
        t1 = time.perf_counter()
        self._synthesize_together([i for i in items if i.pending and i.planned is not None and i.planned.hit is None])
        t2 = time.perf_counter()
        for item in items:
            if item.pending:
                self._guard(item, lambda item=item: self._serve(item, job))
        t3 = time.perf_counter()
        done = [(i, i.result or {}) for i in items]          # every item has its result or its error by now
        result = {"results": [{"index": i.index, **r} for i, r in done], "items": len(items),
                  "failed": sum("error" in r for _, r in done)}
        if req.zip:
            packed = self._zip(items)
            delivered = job.delivery.deliver(packed, "batch.zip", "application/zip", req.output, job.id)
            result["zip"] = {"bytes": len(packed), "content_type": "application/zip",
                             **{k.replace("audio_", "zip_"): v for k, v in delivered.items()}}
        result["timings_ms"] = {"plan": round((t1 - t0) * 1e3, 1), "synth": round((t2 - t1) * 1e3, 1),
                                "finish": round((t3 - t2) * 1e3, 1), "total": ms_since(t0)}
        return result

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

    def _synthesize_together(self, items: list[_Item]) -> None:
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
                spoken = iter(list(backend.synthesize_many(texts, first.embedding, speed=first.speed, seed=first.seed,
                                                           params=first.params)))
            except Exception as exc:  # the whole group fails; other groups go on
                for item, _, _ in members:
                    self._fail(item, exc)
                continue
            finally:   # the replay counts the audio seconds; the time spent making them is spent here
                self.synthesis.metrics.inc("synthesis_seconds", time.perf_counter() - started)
            for item, number, part in members:
                assert item.made is not None
                item.made[number] = [next(spoken) for _ in part.sentences]

    def _serve(self, item: _Item, job: JobContext) -> None:
        """The item through the one output path; its sentences made together with the others' (or, for a cache
        hit gone since the lookup, now)."""
        assert item.planned is not None
        served = self.outputs.serve(item.planned, job, lambda: self.synthesis.render(item.plan, made=item.made))
        item.result, item.data = served.result, served.data

    def _zip(self, items: list[_Item]) -> bytes:
        """Each item's file as NNN.<ext> (and NNN.srt/.vtt captions), plus index.json: the results in order."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for item in items:
                if item.data is None or item.result is None:
                    continue
                fmt = item.plan.format
                compress = zipfile.ZIP_DEFLATED if fmt in ("wav", "pcm") else zipfile.ZIP_STORED
                archive.writestr(f"{item.index:03d}.{FORMATS[fmt].extension}", item.data, compress_type=compress)
                if item.plan.captions and "captions" in item.result:
                    archive.writestr(f"{item.index:03d}.{item.plan.captions}", item.result["captions"],
                                     compress_type=zipfile.ZIP_DEFLATED)
            index = [{"index": i.index, **{k: v for k, v in (i.result or {}).items() if k != "captions"}} for i in items]
            archive.writestr("index.json", json.dumps(index, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        return buffer.getvalue()

    def _guard(self, item: _Item, step) -> None:
        """One item's failure becomes its own structured error; the batch goes on."""
        try:
            step()
        except Exception as exc:
            self._fail(item, exc)

    @staticmethod
    def _fail(item: _Item, exc: Exception) -> None:
        if not isinstance(exc, JobError):
            log.exception("batch item %d crashed", item.index, exc_info=exc)
            exc = InternalError("this item hit an unexpected error; it is logged", hint="retry it alone")
        item.result, item.data = {"error": exc.to_dict()}, None
