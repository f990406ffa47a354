"""One person's plan as it is drawn: a random stream, the writes so far, and the
drop-offs they inject (with the two ways a drop-off is counted: an expectation whose
deadline passes unanswered by the end of the window, and an immediate event)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from journey_simulator import calibration
from journey_simulator.plan import Action, JourneyPlan
from journey_simulator.vocabulary import Weighted, pick

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


class Journey:
    """One person's plan as it is drawn: random stream, actions so far, injected drop-offs."""

    def __init__(
        self, rng: random.Random, cal: calibration.Calibration, end: datetime, plan: JourneyPlan
    ) -> None:
        self.rng, self.cal, self.end, self.plan = rng, cal, end, plan
        self.decisions: list[tuple[datetime, str]] = []  # RG and CG decisions in the log

    # -- drawing ----------------------------------------------------------------------------

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def pick(self, weights: Weighted | dict[str, float]) -> str:
        return pick(self.rng, weights)

    def days(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(low, high) * 86400))

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(low, high) * 3600))

    def prompt(self) -> timedelta:
        """How long after the fact a record is usually made: minutes to four hours."""
        return self.hours(0.1, 4)

    # -- recording --------------------------------------------------------------------------

    def add(
        self,
        occurred: datetime,
        service: str,
        agency: str,
        path: str,
        body: dict[str, Any],
        event: str,
        *,
        recorded: datetime | None = None,
        captures: tuple[tuple[str, str], ...] = (),
        wait_known: bool = False,
    ) -> Action | None:
        """Plan a write, unless it would be recorded after the window: then the journey is
        still going when the simulation ends, and the action is left out (None)."""
        at = recorded if recorded is not None else occurred + self.prompt()
        if at > self.end:
            return None
        action = Action(at, occurred, service, agency, path, body, event, captures, wait_known)
        self.plan.actions.append(action)
        if event in ("uk.nrm.reasonable-grounds.decided", "uk.nrm.conclusive-grounds.decided"):
            self.decisions.append((occurred, body["outcome"]))
        return action

    def expect(self, rule: str, start: Action | None, due: datetime, answer: Action | None) -> None:
        """An expectation started by `start`: a drop-off if its deadline passes by the end
        of the window without the answer having happened and been recorded by then."""
        if start is None or due > self.end:
            return
        if answer is not None and answer.occurred <= due and answer.at <= due:
            return
        self.inject(rule)

    def inject(self, rule: str, count: int = 1) -> None:
        self.plan.injected[rule] += count

    def quiet_since(self) -> datetime:
        return max(a.at for a in self.plan.actions)
