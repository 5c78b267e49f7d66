"""LOG_FORMAT=json: one JSON object per line with the job fields; query strings cut from every line, in both formats."""
from __future__ import annotations

import io
import json
import logging

from common.logs import OUR_HANDLER, setup_logging, strip_queries


def lines_of(env: dict, emit) -> list[str]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging(env)
        stream = io.StringIO()
        (ours,) = [h for h in root.handlers if h.get_name() == OUR_HANDLER]   # a test's capture may stay beside it
        ours.setStream(stream)
        emit()
        return stream.getvalue().splitlines()
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


def test_json_lines_carry_job_fields_and_exceptions():
    log = logging.getLogger("jobcore.worker")

    def emit():
        log.info("job %s done", "j-1", extra={"job_id": "j-1", "action": "synthesize", "backend": "kokoro",
                                                "status": "completed", "timings_ms": {"total": 12.5}})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("crashed", extra={"job_id": "j-2", "error_code": "internal_error"})

    first, second = (json.loads(line) for line in lines_of({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}, emit))
    assert first["message"] == "job j-1 done" and first["level"] == "INFO" and first["logger"] == "jobcore.worker"
    assert first["timings_ms"] == {"total": 12.5} and first["backend"] == "kokoro" and first["time"].endswith("Z")
    assert second["error_code"] == "internal_error" and "ValueError: boom" in second["exception"]


def test_query_strings_never_reach_a_line_in_either_format():
    def emit():
        logging.getLogger("tests.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",  # uvicorn's shape
                                                  "/status/abc?ttl=600000", "1.1", 200)
        logging.getLogger("x").warning("fetch https://bucket.example/k.mp3?X-Amz-Signature=deadbeef failed")

    for fmt in ("text", "json"):
        text = "\n".join(lines_of({"LOG_FORMAT": fmt}, emit))
        assert "/status/abc" in text and "https://bucket.example/k.mp3" in text
        assert "ttl=" not in text and "deadbeef" not in text and "?" not in text


def test_strip_queries_keeps_the_rest_of_the_message():
    assert strip_queries("see http://h/p?a=1&b=2 and /x?y=z then 'why?'") == "see http://h/p and /x then 'why?'"
