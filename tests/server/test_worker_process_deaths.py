"""WORKERS>1: a child that dies while running a job fails that job at once (not after its replacement has
loaded), and a dead idle child is replaced before it is handed a job (no job fails for it)."""
from __future__ import annotations

import threading
import time

import pytest

from jobcore.settings import Settings
from server import processes as processes_module
from server.processes import WorkerProcesses
from tests.support.jobs import error_of

LONG = " ".join(f"This is sentence number {i}, spoken slowly." for i in range(300))


@pytest.fixture
def pool(tmp_path):
    workers = WorkerProcesses(Settings(backend="hibari", voice_library_uri=str(tmp_path / "lib"), warmup=False,
                                       threads=1), 2)
    yield workers
    workers.close()


def test_a_busy_child_that_dies_fails_its_job_before_the_replacement_is_ready(pool, monkeypatch):
    gate, real_ready = threading.Event(), processes_module._Process.ready

    def held_ready(self, timeout):           # a replacement's model "loads" until the test lets it
        gate.wait(60)
        return real_ready(self, timeout)

    monkeypatch.setattr(processes_module._Process, "ready", held_ready)
    outcome: dict = {}
    runner = threading.Thread(target=lambda: outcome.update(pool.handle({"text": LONG, "format": "wav"}, "j1")))
    runner.start()
    deadline = time.monotonic() + 30
    while len(_free(pool)) != 1:              # one child has taken the job
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)                           # the job is in the child now
    busy = next(p for p in pool.processes if p not in _free(pool))
    busy.process.kill()
    runner.join(20)
    try:
        assert not runner.is_alive(), "the job waited for the replacement to load"
        assert error_of(outcome)["code"] == "internal_error"
    finally:
        gate.set()
    runner.join(30)
    result = pool.handle({"text": "After the crash.", "format": "wav"})     # both serve again
    assert "error" not in result and result["duration_s"] > 0.5


def _free(pool) -> list:
    """The processes waiting in the free queue (a peek: taken out and put back in order)."""
    items = []
    while True:
        try:
            items.append(pool._free.get_nowait())
        except Exception:
            break
    for item in items:
        pool._free.put(item)
    return items


def test_dead_idle_children_are_replaced_before_they_get_a_job(pool):
    old = [p.process.pid for p in pool.processes]
    for process in pool.processes:
        process.process.kill()
        process.process.join(10)
    results = [pool.handle({"text": f"Fresh start {n}.", "format": "wav"}) for n in range(3)]
    assert all("error" not in r and r["duration_s"] > 0.5 for r in results), results
    items = list(pool.stream({"text": "One. Two.", "format": "wav", "stream": True}))
    assert items[-1].get("done") is True
    assert all(p.process.pid not in old for p in pool.processes if p.process.is_alive())
