from __future__ import annotations

import pytest

from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    return Contracts.load(find_schemas_dir())
