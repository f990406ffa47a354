from __future__ import annotations

import json
import logging

import pytest

from journey_platform.logs import configure_logging


def test_log_lines_are_json_with_service_and_extra_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("referral", "INFO")
    logging.getLogger("test").info("referral recorded", extra={"journey_id": "jny_x", "count": 2})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["service"] == "referral"
    assert line["message"] == "referral recorded"
    assert line["journey_id"] == "jny_x" and line["count"] == 2
