"""Every job error class carries a stable code and its own HTTP status, and round-trips through the job error
shape (RunPod's error string) and across a worker process's pipe."""
from __future__ import annotations

import json
import pickle

import pytest

from common import errors
from server.errors import ApiError

ALL = sorted({cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.JobError)},
             key=lambda cls: cls.__name__)


def test_every_error_class_is_walked():
    assert len(ALL) >= 13 and errors.JobCancelled in ALL
    assert {cls.code for cls in ALL if cls is not errors.JobError} == set(errors.ERRORS)


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.__name__)
def test_each_error_has_a_code_and_status_and_round_trips(cls):
    assert cls.code and cls.code == cls.code.lower() and 400 <= cls.status < 600
    server_side = cls.code in ("storage_unavailable", "backend_unavailable", "internal_error")
    assert (500 <= cls.status < 600) if server_side else (400 <= cls.status < 500), (cls.code, cls.status)
    error = cls("the message", hint="the hint")
    shape = json.loads(error.to_job_error())
    assert shape == {"code": cls.code, "message": "the message", "hint": "the hint"}
    back = errors.JobError.from_dict(shape)
    assert type(back) is (cls if cls is not errors.JobError else errors.InternalError)
    assert (back.code, back.message, back.hint, back.status) == (cls.code, "the message", "the hint", cls.status)
    piped = pickle.loads(pickle.dumps(error))
    assert type(piped) is cls and (piped.message, piped.hint) == ("the message", "the hint")
    answer = ApiError.of(error)
    assert answer.status == cls.status and answer.code == cls.code and answer.message == "the message (the hint)"


def test_an_unknown_code_stays_its_own_code():
    back = errors.JobError.from_dict({"code": "brand_new", "message": "m"})
    assert back.code == "brand_new" and back.status == 500 and back.hint is None
