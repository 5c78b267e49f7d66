"""Batch jobs: many synthesize inputs in one job, one result each in order, their sentences synthesized together."""
from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from dataclasses import dataclass

from backends.base import AudioChunk, Backend
from common.errors import InternalError, InvalidInput, JobError
from common.formats import FORMATS

from .delivery import Delivery
from .outputs import Outputs
from .pipeline import Part
from .schema import BatchRequest, SynthesizeRequest, validate_request
from .settings import Settings
from .synthesis import Plan, Synthesis, ms_since

log = logging.getLogger(__name__)


@dataclass
class _Item:
    index: int
    request: SynthesizeRequest | None = None
    plan: Plan | None = None
    key: str | None = None
    result: dict | None = None
    data: bytes | None = None
    spoken: list[list[list[AudioChunk]]] | None = None     # per part, per sentence: chunks made beforehand

    @property
    def pending(self) -> bool:
        return self.result is None


class _Replay:
    """Stands in for the backend while one item renders: hands back the sentences the batch made for it."""

    def __init__(self, backend: Backend, spoken: list[list[list[AudioChunk]]]):
        self.name, self.capabilities = backend.name, backend.capabilities
        self._parts = iter(spoken)

    def synthesize_many(self, texts, voice, **_) -> list[list[AudioChunk]]:
        return next(self._parts)


class Batch:
    def __init__(self, settings: Settings, synthesis: Synthesis, outputs: Outputs, delivery: Delivery):
        self.settings, self.synthesis, self.outputs, self.delivery = settings, synthesis, outputs, delivery

    def run(self, req: BatchRequest, job_id: str) -> dict:
        t0 = time.perf_counter()
        if len(req.batch) > self.settings.max_batch_items:
            raise InvalidInput(f"the batch has {len(req.batch)} items; the limit is {self.settings.max_batch_items}",
                               hint="split it into several batch jobs, or raise MAX_BATCH_ITEMS")
        items = [self._plan(index, raw, req.zip, job_id) for index, raw in enumerate(req.batch)]
        t1 = time.perf_counter()
        self._synthesize_together([i for i in items if i.pending])
        t2 = time.perf_counter()
        for item in items:
            if item.pending:
                self._guard(item, lambda item=item: self._finish(item, req.zip, job_id))
        t3 = time.perf_counter()
        result = {"results": [{"index": i.index, **i.result} for i in items], "items": len(items),
                  "failed": sum("error" in i.result for i in items)}
        if req.zip:
            packed = self._zip(items)
            delivered = self.delivery.deliver(packed, "batch.zip", "application/zip", req.output, job_id)
            result["zip"] = {"bytes": len(packed), "content_type": "application/zip",
                             **{k.replace("audio_", "zip_"): v for k, v in delivered.items()}}
        result["timings_ms"] = {"plan": round((t1 - t0) * 1e3, 1), "synth": round((t2 - t1) * 1e3, 1),
                                "finish": round((t3 - t2) * 1e3, 1), "total": ms_since(t0)}
        return result

    # -- steps ----------------------------------------------------------------------------------
    def _plan(self, index: int, raw, packed: bool, job_id: str) -> _Item:
        """Validate and plan one item; a cached item is finished here."""
        item = _Item(index)

        def plan() -> None:
            item.request = validate_request(raw, {"synthesize": SynthesizeRequest})
            if item.request.stream:
                raise InvalidInput("stream is not available inside a batch", hint="drop stream from the item")
            item.plan = self.synthesis.plan(item.request)
            item.key = self.outputs.key(item.plan, item.request.cache)
            hit = self.outputs.cached(item.key, None if packed else item.request.output, job_id, self._name(item))
            if hit is not None:
                item.result, item.data = hit

        self._guard(item, plan)
        return item

    def _synthesize_together(self, items: list[_Item]) -> None:
        """One synthesize_many call per (voice, speed, seed, params) over every pending item's sentences, so a
        backend that works on several sentences at once (Kokoro) gets them all."""
        groups: dict[tuple, list[tuple[_Item, int, Part]]] = {}
        for item in items:
            item.spoken = [[] for _ in item.plan.parts]
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
                item.spoken[number] = [next(spoken) for _ in part.sentences]

    def _finish(self, item: _Item, packed: bool, job_id: str) -> None:
        rendered = self.synthesis.render(item.plan, backend=_Replay(self.synthesis.backend, item.spoken))
        item.result, item.data = self.outputs.finish(rendered, item.key, None if packed else item.request.output,
                                                     job_id, self._name(item))

    def _zip(self, items: list[_Item]) -> bytes:
        """Each item's file as NNN.<ext> (and NNN.srt/.vtt captions), plus index.json: the results in order."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for item in items:
                if item.data is None:
                    continue
                fmt = item.plan.format
                compress = zipfile.ZIP_DEFLATED if fmt in ("wav", "pcm") else zipfile.ZIP_STORED
                archive.writestr(f"{item.index:03d}.{FORMATS[fmt].extension}", item.data, compress_type=compress)
                if item.plan.captions and "captions" in item.result:
                    archive.writestr(f"{item.index:03d}.{item.plan.captions}", item.result["captions"],
                                     compress_type=zipfile.ZIP_DEFLATED)
            index = [{"index": i.index, **{k: v for k, v in i.result.items() if k != "captions"}} for i in items]
            archive.writestr("index.json", json.dumps(index, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        return buffer.getvalue()

    @staticmethod
    def _name(item: _Item) -> str:
        return f"item-{item.index:03d}.{FORMATS[item.plan.format].extension}"

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
