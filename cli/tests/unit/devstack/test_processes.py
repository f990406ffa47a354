"""Ports for the servers tests and benchmarks start."""

from __future__ import annotations

import socket

from journey_cli.devstack.processes import free_ports


def test_free_ports_are_distinct_and_can_be_bound_at_once() -> None:
    ports = free_ports(20)
    assert len(set(ports)) == 20
    sockets = [socket.socket() for _ in ports]
    try:
        for sock, port in zip(sockets, ports, strict=True):
            sock.bind(("127.0.0.1", port))
    finally:
        for sock in sockets:
            sock.close()
