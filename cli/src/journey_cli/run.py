"""`journey run`: the system on this machine, until Ctrl-C.

Starts the local stack (unless KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL name servers),
then the three partner services, each with its own database, and the journey processor
(with the live clock), waits until each service answers /readyz, prints where their API
docs are, and on Ctrl-C stops them (services finish in-flight requests and drain their
outboxes; the processor commits) and then the stack it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from journey_api.tokens import DevelopmentSigner
from journey_cli.devstack import Stack, StackError

SERVICES = {"referral": 8001, "support": 8002, "prosecution": 8003}


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


WEDGED = 75  # the processor's exit status when its consumer wedged (a fresh one helps)


def _start_processor(stack: Stack, logs: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **stack.environment(),
        "PROCESSOR_DATA_DIR": str(stack.root / "processor"),
        "PROCESSOR_STANDBY_REPLICAS": "0",
    }
    with (logs / "journey-processor.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "journey.app", "worker", "--loglevel", "warn"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def run(root: Path) -> int:
    stack = Stack.from_environment()
    started = stack.up()
    signer = DevelopmentSigner(root / ".devstack" / "auth")
    logs = stack.root / "services"
    logs.mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    base = stack.database_url.rsplit("/", 1)[0]
    try:
        for name, port in SERVICES.items():
            env = {
                **os.environ,
                **stack.environment(),
                "DATABASE_URL": f"{base}/{name}",
                "HTTP_PORT": str(port),
                "AUTH_JWKS_FILE": str(signer.jwks_file),
            }
            with (logs / f"{name}.log").open("ab") as log:
                processes[name] = subprocess.Popen(  # noqa: S603 - our own modules
                    [sys.executable, "-m", name], env=env, stdout=log, stderr=subprocess.STDOUT
                )
        processes["journey-processor"] = _start_processor(stack, logs)
        deadline = time.monotonic() + 120
        for name, port in SERVICES.items():
            while not _ready(f"http://127.0.0.1:{port}"):
                if processes[name].poll() is not None or time.monotonic() > deadline:
                    raise StackError(f"the {name} service did not start; see {logs / name}.log")
                time.sleep(0.25)
        print("\nThe partner APIs are up (logs in .devstack/services/):")
        for name, port in SERVICES.items():
            print(f"  {name:12} http://127.0.0.1:{port}/docs")
        print("  journey processor: flags on journey.dropoffs, outcomes on journey.outcomes")
        print("\nA development token: uv run journey token --agency northshire-police")
        print("Press Ctrl-C to stop.")
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _interrupt)
        while True:
            time.sleep(1)
            if processes["journey-processor"].poll() == WEDGED:
                print("the journey processor's consumer wedged; starting a fresh one")
                processes["journey-processor"] = _start_processor(stack, logs)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...")
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut it short
            signal.signal(signum, signal.SIG_IGN)
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if started:
            stack.down()
    return 0
