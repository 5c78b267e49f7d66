"""Every job error code has its own HTTP status on the routes that answer with audio."""
from __future__ import annotations

import inspect

import pytest

from common import errors
from server.errors import HTTP_STATUS, from_job_error

CODES = sorted({cls.code for _, cls in inspect.getmembers(errors, inspect.isclass)
                if issubclass(cls, errors.JobError)})


def test_every_job_error_code_is_mapped():
    assert set(CODES) - set(HTTP_STATUS) == set()


@pytest.mark.parametrize("code", CODES)
def test_client_faults_are_4xx_and_server_faults_5xx(code):
    cls = next(c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.JobError) and c.code == code)
    status = from_job_error(cls("message", hint="hint").to_job_error()).status
    server_side = code in ("storage_unavailable", "backend_unavailable", "internal_error")
    assert (500 <= status < 600) if server_side else (400 <= status < 500), (code, status)
