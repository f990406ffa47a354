"""What SASL_SSL with ACLs costs a client: the same records through a plaintext broker and
a secured one (`journey devstack up --kafka-security sasl_ssl`), each a broker of its own.

    uv run python bench/kafka_security.py [--records 20000] [--rounds 2]

Per broker and round: seconds to connect an idempotent producer (TLS handshake and SCRAM),
to send the records with acks=all and wait for every ack, and to read them back. The
secured broker's clients are the catalogue's principals (referral writes, support reads),
so ACLs are checked on every request, as in production. Prints one JSON line per round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from aiokafka import TopicPartition

from journey_cli.devstack.kafka import LocalKafka, Security
from journey_platform.contracts import Contracts
from journey_platform.kafka import read_to_end, start_producer
from journey_platform.settings import KafkaSecurity, find_schemas_dir
from tests.integration.broker import own_broker, prepare

TOPIC = "nrm.identification"


async def one_round(broker: LocalKafka, records: int, payload: bytes) -> dict[str, float]:
    writer = reader = KafkaSecurity(security_protocol="PLAINTEXT")
    if broker.secured:
        writer, reader = broker.secured.security("referral"), broker.secured.security("support")
    started = time.perf_counter()
    producer = await start_producer(broker.bootstrap, "bench-kafka-security", writer)
    connected = time.perf_counter()
    try:
        sends = [
            await producer.send(TOPIC, payload, key=f"journey-{i % 997}".encode())
            for i in range(records)
        ]
        written = await asyncio.gather(*sends)
    finally:
        await producer.stop()
    sent = time.perf_counter()
    partitions = [TopicPartition(TOPIC, p) for p in {w.partition for w in written}]
    since = {p: min(w.offset for w in written if w.partition == p.partition) for p in partitions}
    read = 0
    async for batch in read_to_end(broker.bootstrap, partitions, since=since, security=reader):
        read += len(batch)
    done = time.perf_counter()
    assert read == records, f"read {read} of {records}"
    return {
        "connect_s": round(connected - started, 3),
        "send_s": round(sent - connected, 3),
        "read_s": round(done - sent, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bytes", type=int, default=1024, help="record size (default 1 KiB)")
    options = parser.parse_args()
    contracts = Contracts.load(find_schemas_dir())
    payload = b"x" * options.bytes
    securities: tuple[Security, ...] = ("plaintext", "sasl_ssl")
    with tempfile.TemporaryDirectory() as folder:
        brokers = {s: own_broker(Path(folder) / s, security=s) for s in securities}
        try:
            for broker in brokers.values():
                prepare(broker, contracts)
            for round_ in range(options.rounds):
                for security, broker in brokers.items():  # alternate: load drifts
                    figures = asyncio.run(one_round(broker, options.records, payload))
                    line = {"round": round_, "security": security, "records": options.records}
                    print(json.dumps(line | figures), flush=True)
        finally:
            for broker in brokers.values():
                broker.stop()


if __name__ == "__main__":
    main()
