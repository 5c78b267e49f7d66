"""Plain counters and histograms of a worker's jobs (no exporter here: `info` shows them, server/ renders them)."""
from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable

# seconds: from a 50 ms cache hit to a 10-minute document part
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
LabelKey = tuple[tuple[str, str], ...]


def label_key(labels: dict[str, object]) -> LabelKey:
    return tuple(sorted((k, "" if v is None else str(v)) for k, v in labels.items()))


class Metrics:
    """Counters (`inc`) and histograms (`observe`) by name and labels; `snapshot()` is plain JSON."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.buckets = buckets
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, LabelKey], float] = {}
        self._histograms: dict[tuple[str, LabelKey], list[float]] = {}   # bucket counts..., +Inf count, sum

    def inc(self, name: str, amount: float = 1.0, **labels) -> None:
        key = (name, label_key(labels))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + amount

    def observe(self, name: str, value: float, **labels) -> None:
        key = (name, label_key(labels))
        with self._lock:
            counts = self._histograms.setdefault(key, [0.0] * (len(self.buckets) + 2))
            counts[bisect.bisect_left(self.buckets, value)] += 1   # le semantics: value <= bound
            counts[-1] += value

    def snapshot(self) -> dict:
        """{"counters": [{name, labels, value}], "histograms": [{name, labels, buckets, counts, sum, count}]}
        (`counts` per bucket, not cumulative; the last count is above every bucket)."""
        with self._lock:
            counters = [{"name": n, "labels": dict(k), "value": v} for (n, k), v in sorted(self._counters.items())]
            histograms = [{"name": n, "labels": dict(k), "buckets": list(self.buckets), "counts": c[:-1],
                           "sum": round(c[-1], 6), "count": sum(c[:-1])} for (n, k), c in sorted(self._histograms.items())]
        return {"counters": counters, "histograms": histograms}


def merge(snapshots: Iterable[dict]) -> dict:
    """Several workers' snapshots (one per process) summed into one."""
    counters: dict[tuple[str, LabelKey], float] = {}
    histograms: dict[tuple[str, LabelKey], dict] = {}
    for snap in snapshots:
        for c in snap.get("counters", []):
            key = (c["name"], label_key(c["labels"]))
            counters[key] = counters.get(key, 0.0) + c["value"]
        for h in snap.get("histograms", []):
            key = (h["name"], label_key(h["labels"]))
            seen = histograms.get(key)
            if seen is None:
                histograms[key] = {**h, "counts": list(h["counts"])}
            else:
                seen["counts"] = [a + b for a, b in zip(seen["counts"], h["counts"])]
                seen["sum"] += h["sum"]
                seen["count"] += h["count"]
    return {"counters": [{"name": n, "labels": dict(k), "value": v} for (n, k), v in sorted(counters.items())],
            "histograms": [histograms[k] for k in sorted(histograms)]}
