"""The rules' words, read from the journey processor's catalogue: its one home.

Only the fields a partner reads (title, rationale, stage, severity) are taken; the
processor's loader checks the rest. Services never import each other, so this reads the
YAML file itself (its path is a setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class RuleText:
    rule_id: str
    title: str
    rationale: str
    stage: str
    severity: str


def load_rules(path: Path) -> dict[str, RuleText]:
    document = yaml.safe_load(path.read_text())
    return {
        raw["id"]: RuleText(
            raw["id"], raw["title"], raw["rationale"], raw["stage"], raw["severity"]
        )
        for raw in document["rules"]
    }
