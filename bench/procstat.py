"""CPU accounting from /proc for benchmarks: which process group kept how many cores busy.

Linux only; elsewhere the snapshots are empty and the reports say nothing.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any


def _group(pid: int, name: str, service_pid: int, database: str) -> str:
    if pid == service_pid:
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


def cpu_snapshot(service_pid: int, database: str) -> dict[str, float]:
    """CPU seconds used so far by process group, and the machine's busy time.

    "other" is the machine's busy time less the named groups: anything else running
    (other workloads on this PostgreSQL and Kafka included) competes for the same cores.
    """
    if not Path("/proc/stat").exists():
        return {}
    ticks = os.sysconf("SC_CLK_TCK")
    used: defaultdict[str, float] = defaultdict(float)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        group = _group(int(entry.name), name, service_pid, database)
        if group != "other":
            used[group] += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        if group == "service":
            used["service_kernel"] += int(fields[12]) / ticks  # system calls: sockets, logs
    machine = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = machine[3] + machine[4]  # idle + iowait
    used["machine_busy"] = (sum(machine[:8]) - idle) / ticks
    return dict(used)


GROUPS = ("service", "load_generator", "postgres", "kafka")


def cpu_report(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, Any]:
    """Cores kept busy during the phase, by process group (1.0 = one core all the time)."""
    if not before or wall <= 0:
        return {}
    cores = {group: (after.get(group, 0.0) - before.get(group, 0.0)) / wall for group in GROUPS}
    busy = (after["machine_busy"] - before["machine_busy"]) / wall
    cores["other"] = max(0.0, busy - sum(cores.values()))
    cores["machine_busy"] = busy
    report: dict[str, Any] = {f"{group}_cores": round(value, 2) for group, value in cores.items()}
    kernel = after.get("service_kernel", 0.0) - before.get("service_kernel", 0.0)
    service = cores["service"] * wall
    report["service_kernel_share"] = round(kernel / service, 2) if service else None
    return report
