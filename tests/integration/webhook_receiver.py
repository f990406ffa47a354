"""A real webhook receiver for tests: an HTTP server in a thread on 127.0.0.1 that keeps
every request it is sent and answers as the test tells it to (up, failing, slow, down).

`python -m tests.integration.webhook_receiver` runs one in a process of its own, always
up, writing each delivery as a JSON line (its arrival on the machine's monotonic clock,
and its body) to $WEBHOOK_RECEIVER_JOURNAL: the benchmark's receiver, so that the
benchmark's own work never delays an arrival."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

Mode = Literal["ok", "fail", "hold"]


@dataclass(frozen=True)
class Arrival:
    webhook_id: str
    headers: dict[str, str]
    body: str
    status: int  # what the receiver answered (0: still holding it when the test looked)
    at: float = 0.0  # when it arrived (time.monotonic(), this process's clock)


class _Server(ThreadingHTTPServer):
    # A dispatcher sends a batch of deliveries at once; the standard library's listen
    # backlog of 5 drops the rest of the connections, which the kernel then retries a
    # second later: a second the sender did not spend.
    request_queue_size = 128


class Receiver:
    """`url` is fixed for the receiver's life, across `down()` and `up()`."""

    def __init__(self, port: int, path: str = "/hooks/flags", journal: Path | None = None) -> None:
        self.journal = journal
        self.port = port
        self.url = f"http://127.0.0.1:{port}{path}"
        self.mode: Mode = "ok"
        self.release = threading.Event()  # ends a "hold"
        self._lock = threading.Lock()
        self._arrivals: list[Arrival] = []
        self._server: ThreadingHTTPServer | None = None

    def up(self, mode: Mode = "ok") -> None:
        self.mode = mode
        if self._server is None:
            server = _Server(("127.0.0.1", self.port), self._handler())
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._server = server

    def down(self) -> None:
        """Stop listening: connections are refused from now on."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def arrivals(self) -> list[Arrival]:
        with self._lock:
            return list(self._arrivals)

    def held(self) -> list[Arrival]:
        """Requests received while holding (answered only after `release`)."""
        return [a for a in self.arrivals if a.status == 0]

    def delivered(self) -> list[Arrival]:
        """Requests answered 2xx, in the order they came."""
        return [a for a in self.arrivals if 200 <= a.status < 300]

    def _record(self, arrival: Arrival) -> None:
        with self._lock:
            self._arrivals.append(arrival)
            if self.journal is not None:
                with self.journal.open("a") as journal:
                    journal.write(json.dumps({"at": arrival.at, "body": arrival.body}) + "\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                arrival = Arrival(headers.get("webhook-id", ""), headers, body, 0, time.monotonic())
                if receiver.mode == "hold":
                    # Kept as unanswered: the sender may be gone by the time it is answered.
                    receiver._record(arrival)
                    receiver.release.wait(30)
                    status = 200
                else:
                    status = 503 if receiver.mode == "fail" else 200
                    receiver._record(replace(arrival, status=status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # the test reads arrivals, not stderr

        return Handler


if __name__ == "__main__":
    receiver = Receiver(
        int(os.environ["WEBHOOK_RECEIVER_PORT"]),
        journal=Path(os.environ["WEBHOOK_RECEIVER_JOURNAL"]),
    )
    receiver.up()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    receiver.down()
