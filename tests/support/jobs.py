"""Reading job results in tests: the error shape every failed job must have."""
from __future__ import annotations

import json


def error_of(result: dict) -> dict:
    assert set(result) == {"error"}, result
    assert isinstance(result["error"], str)          # RunPod needs a string here
    err = json.loads(result["error"])
    assert set(err) == {"code", "message", "hint"} and err["message"]
    return err
