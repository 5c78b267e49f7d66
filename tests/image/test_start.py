"""The image on its own: test_input.json with no network, and a worker whose model cannot load leaves before
taking a job."""
from __future__ import annotations

import re

import pytest

from tests.support.containers import Container
from tests.support.runpod_queue import RunPodQueue

pytestmark = pytest.mark.image


def test_test_input_json_answers_with_no_network(image):
    with Container(image, network="none") as container:
        code = container.wait(timeout=300)
        logs = container.logs()
    assert code == 0, logs[-3000:]
    assert "Job local_test completed successfully." in logs
    duration = float(re.search(r"'duration_s': ([0-9.]+)", logs)[1])
    assert 5.0 < duration < 20.0                  # 110 characters of speech


def test_a_worker_whose_model_cannot_load_exits_before_taking_a_job(image, gateway):
    with RunPodQueue(host=gateway) as queue:
        queue.submit({"text": "Nobody should take me."})
        env = {**queue.worker_env("host.docker.internal"), "MODEL_DIR": "/app"}     # no model there
        with Container(image, env=env) as container:
            code = container.wait(timeout=180)
            logs = container.logs()
        assert code != 0, logs[-3000:]
        assert "Fitness check failed" in logs and "Kokoro model" in logs
        assert queue.takes == [] and queue.jobs and all(j.status == "IN_QUEUE" for j in queue.jobs.values())
