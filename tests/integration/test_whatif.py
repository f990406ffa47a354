"""`journey whatif` on real Kafka: the hand-worked history (tests.integration.whatif_cases)
read from the topics, replayed under a longer Reasonable Grounds deadline, compared with
the flags actually published; and the same run under the deployed deadline differs in
nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from analytics.adapters.whatif_history import book, evaluate
from analytics.cli.whatif import _run
from analytics.domain.period import Period
from journey_platform.contracts import Contracts
from tests.integration.whatif_cases import DEPLOYED, publish_history

pytestmark = pytest.mark.integration


async def test_whatif_reads_the_topics_and_compares_with_what_was_flagged(
    kafka: str,
    contracts: Contracts,
    producer: AIOKafkaProducer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    published = await publish_history(producer, contracts, range(1900, 2000))

    override = tmp_path / "rules.yaml"
    override.write_text("reasonable-grounds-overdue: {working_days: 10}\n")
    args = argparse.Namespace(
        override=override, deployed=None, start=published.monday.date(),
        end=published.until.date(), until=published.until, threshold=10, bootstrap=kafka,
    )  # fmt: skip
    assert await _run(args) == 0
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("reasonable-grounds"))
    # Flagged 24; under ten working days 12; a longer deadline adds none and moves none
    # earlier (zeros by construction, shown); 12 removed, 12 later, 12 resolved.
    # flagged, what if, added, removed, earlier, later, resolved (under ten days)
    assert row.split()[1:] == ["24", "12", "0", "12", "0", "12", "12"]
    assert "journeys affected: 24" in printed
    assert "read the history from the topics in" in printed


async def test_the_deployed_deadline_replayed_differs_in_nothing(
    kafka: str, contracts: Contracts, producer: AIOKafkaProducer
) -> None:
    published = await publish_history(producer, contracts, range(1700, 1800))

    rules, timing = await evaluate(
        bootstrap=kafka,
        contracts=contracts,
        chosen=book(contracts, {}, DEPLOYED),
        period=Period(published.monday.date(), published.until.date()),
        until=published.until,
    )

    flagged = rules["reasonable-grounds-overdue"].counts
    assert flagged["actual"] == flagged["whatif"] == 24
    for rule_id, difference in rules.items():  # before disclosure control: true zeros
        changes = {c: difference.counts[c] for c in ("added", "removed", "earlier", "later")}
        assert changes == dict.fromkeys(changes, 0), rule_id
        assert difference.journeys == set(), rule_id
    assert timing["events"] == 56
