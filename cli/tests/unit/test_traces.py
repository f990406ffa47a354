from __future__ import annotations

from journey_cli.traces import tree


def test_a_send_spans_flags_are_shown_one_a_line_under_it() -> None:
    """The processor publishes a batch's flags as events of one send span: `journey trace`
    must still show each flag's id, which an operator searches by."""
    trace = {
        "processes": {"p1": {"serviceName": "journey-processor"}},
        "spans": [
            {
                "spanID": "a",
                "processID": "p1",
                "operationName": "journey.dropoffs send",
                "startTime": 1,
                "duration": 200,
                "tags": [{"key": "messaging.destination.name", "value": "journey.dropoffs"}],
                "logs": [
                    {
                        "timestamp": 2,
                        "fields": [
                            {"key": "event", "value": "flag published"},
                            {"key": "journey.flag_id", "value": f"flag-{n}"},
                            {"key": "journey.rule_id", "value": "no-support-contact"},
                        ],
                    }
                    for n in (1, 2)
                ],
            }
        ],
    }
    lines = tree(trace)
    assert lines[0].startswith("journey-processor  journey.dropoffs send  0.2 ms")
    assert lines[1:] == [
        f"  · flag published  [journey.rule_id=no-support-contact journey.flag_id=flag-{n}]"
        for n in (1, 2)
    ]
