"""Reading job results in tests: the error shape every failed job must have."""
from __future__ import annotations

import json

from common.errors import JobError


def error_of(result: dict) -> dict:
    """The error of a failed job: a JobError from the job core, or RunPod's JSON string from an entry point."""
    assert set(result) == {"error"}, result
    error = result["error"]
    if isinstance(error, JobError):
        err = error.to_dict()
    else:
        assert isinstance(error, str)          # RunPod needs a string here
        err = json.loads(error)
    assert set(err) == {"code", "message", "hint"} and err["message"]
    return err
