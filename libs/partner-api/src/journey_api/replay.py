"""Single-use tokens: a read of a person's identifying details spends the token's `jti`.

A bearer token lives an hour; one copied from a log, a proxy or a browser could otherwise
read the same person's details again and again. Spent token ids are kept in PostgreSQL,
so the refusal holds across processes and replicas, until the token would have expired
anyway.
"""

from __future__ import annotations

from journey_api.auth import Principal
from journey_api.problems import Problem
from journey_api.store import RecordStore


def _refused(detail: str) -> Problem:
    return Problem(401, "Unauthorised", detail, kind="token-replayed", audit_as="replayed")


async def spend_token(store: RecordStore, principal: Principal) -> None:
    """Mark the caller's token spent, or refuse it (401) if it was spent already."""
    if principal.token_id is None:
        raise _refused("This read needs a token with a jti (token id); ask for a new token.")
    if not await store.spend_token(principal):
        raise _refused(
            "This token was already used to read identifying details, and may read them "
            "only once; ask for a new token for each read."
        )
