"""PostgreSQL types shared by the platform's helpers."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A plain connection or one borrowed from a pool: the helpers accept either.
Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
