"""A partner service's README action table, read back, so a unit test can hold it to the
service's `domain/actions.py`: the table is written for people (grouped rows, `.left` for
an event beside its sibling, "first responders" for the group), and would otherwise drift.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

from journey_api.domain.records import Action
from nrm_domain.agencies import COMPETENT_AUTHORITIES, FIRST_RESPONDERS, AgencyType

GROUPS = {"first responders": FIRST_RESPONDERS, "competent authorities": COMPETENT_AUTHORITIES}
TYPES = {t.value for t in AgencyType}


def readme_actions(readme: Path) -> dict[str, frozenset[str]]:
    """Event type -> the agency types that may record it, from the table whose header
    starts `| action | event |` (its last column names the agency types)."""
    table: dict[str, frozenset[str]] = {}
    rows = iter(readme.read_text().splitlines())
    for line in rows:
        if line.startswith("| action | event |"):
            break
    next(rows, None)  # the |---| line
    for line in rows:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        who = cells[-1]
        types = {t for t in re.findall(r"`([a-z_]+)`", who) if t in TYPES}
        types |= {t.value for group, of in GROUPS.items() if group in who for t in of}
        for event in _events(cells[1]):
            table[event] = frozenset(types)
    return table


def _events(cell: str) -> list[str]:
    """`uk.nrm.a.b`, `.c` -> uk.nrm.a.b, uk.nrm.a.c."""
    events: list[str] = []
    for name in re.findall(r"`(uk\.nrm\.[a-z0-9.-]+|\.[a-z0-9-]+)`", cell):
        events.append(events[-1].rpartition(".")[0] + name if name.startswith(".") else name)
    return events


def code_actions(module: ModuleType) -> dict[str, frozenset[str]]:
    """Event type -> agency types, as a service's actions module declares them."""
    return {
        action.event_type: frozenset(t.value for t in action.agency_types)
        for action in vars(module).values()
        if isinstance(action, Action)
    }
