"""The cycle collector paused while a process starts (its objects are long-lived), then frozen out of its sight."""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def collections_paused():
    """Start-up makes long-lived objects only (modules, tables, sessions): the cycle collector's passes over them are
    wasted work (about 0.35 s of a Kokoro worker's start-up CPU here). Paused while it runs; then what it made is moved
    out of the collector's sight (gc.freeze), so the first jobs' collections do not walk it either. Nests."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
