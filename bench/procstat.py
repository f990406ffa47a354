"""CPU accounting from /proc for benchmarks: which process group kept how many cores busy.

Linux only; elsewhere the snapshots are empty and the reports say nothing.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path
from typing import Any


def _group(pid: int, name: str, service_pids: Collection[int], database: str) -> str:
    if pid in service_pids:
        return "service"
    if pid == os.getpid():
        return "load_generator"
    if name == "java":
        return "kafka"
    if name.startswith("postgres"):
        # A backend's command line names its database: others serve other workloads.
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split()
        except OSError:
            return "other"
        serves_another = len(words) > 2 and words[0] == "postgres:" and words[2] != database
        return "other" if serves_another else "postgres"
    return "other"


# A process by group, pid and start time (a pid can be reused), or "machine_busy".
Key = tuple[str, int, int] | str


def cpu_snapshot(service_pids: Collection[int], database: str) -> dict[Key, float]:
    """CPU seconds used so far by each process of a named group, and the machine's busy time.

    Kept per process, not summed per group, so that a process that exits during a phase
    (another stack's Kafka stopping) takes away only its own time, never the group's: a
    sum taken before and after would go negative.
    "other" is the machine's busy time less the named groups: anything else running
    (other workloads on this PostgreSQL and Kafka included) competes for the same cores.
    """
    if not Path("/proc/stat").exists():
        return {}
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[Key, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        group = _group(pid, name, service_pids, database)
        if group == "other":
            continue
        started = int(fields[19])
        used[(group, pid, started)] = (int(fields[11]) + int(fields[12])) / ticks  # utime+stime
        if group == "service":
            used[("service_kernel", pid, started)] = int(fields[12]) / ticks  # system calls
    machine = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = machine[3] + machine[4]  # idle + iowait
    used["machine_busy"] = (sum(machine[:8]) - idle) / ticks
    return used


def _spent(before: dict[Key, float], after: dict[Key, float]) -> defaultdict[str, float]:
    """CPU seconds by group between the snapshots, from the processes alive at the end (one
    that started meanwhile counts whole; one that exited meanwhile is not counted)."""
    spent: defaultdict[str, float] = defaultdict(float)
    for key, seconds in after.items():
        if isinstance(key, tuple):
            spent[key[0]] += seconds - before.get(key, 0.0)
    return spent


GROUPS = ("service", "load_generator", "postgres", "kafka")


def cpu_report(before: dict[Key, float], after: dict[Key, float], wall: float) -> dict[str, Any]:
    """Cores kept busy during the phase, by process group (1.0 = one core all the time)."""
    if not before or wall <= 0:
        return {}
    spent = _spent(before, after)
    cores = {group: spent[group] / wall for group in GROUPS}
    busy = (after["machine_busy"] - before["machine_busy"]) / wall
    cores["other"] = max(0.0, busy - sum(cores.values()))
    cores["machine_busy"] = busy
    report: dict[str, Any] = {f"{group}_cores": round(value, 2) for group, value in cores.items()}
    kernel = spent["service_kernel"]
    service = cores["service"] * wall
    report["service_kernel_share"] = round(kernel / service, 2) if service else None
    return report
