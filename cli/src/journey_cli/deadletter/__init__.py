"""`journey deadletter`: see what consumers could not process, and put it back once the
cause is fixed.

A dead letter is a record a consumer (a partner service's learner, the analytics sink,
the journey processor) could not process, copied unchanged to the dead-letter topic with
`dlq_*` headers saying where it came from and why (`dead_letter_headers` in
journey_platform.consumer). Its id here is its place on that topic, `<partition>:<offset>`
(`records.ID_FORMAT`).

Neither command prints or logs a record's key (a pseudonymous journey id) or value
(which may hold personal data): only the headers that describe it.

    journey deadletter list --group support-journeys
    journey deadletter replay --id 1:42 --id 2:7
    journey deadletter replay --all --group support-journeys

`records` is pure (what a dead letter says, what goes back); `topic` reads and publishes;
`command` is the argparse front.
"""

from journey_cli.deadletter.command import add_arguments, run

__all__ = ["add_arguments", "run"]
