"""`journey keys`: master keys for the journeys' data keys (journey_api.sealing).

    journey keys new                  a fresh master key (32 random bytes, base64)
    journey keys rotate --database-url URL [--key-variable IDENTITY_MASTER_KEY]

`rotate` re-seals every journey's data key under the master key in `$VARIABLE`, opening
keys sealed by the one it replaces with `$VARIABLE_PREVIOUS`: the same two variables the
service is given during a rotation, so it serves throughout (docs/operations.md, "Rotating
a master key"). It works in batches, each its own transaction, so it can be stopped and
run again: a key already sealed by the new master key is left alone. It never prints a
key, a journey id or anything sealed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys

import asyncpg
from pydantic import SecretStr, TypeAdapter, ValidationError

from journey_api.sealing import JourneyKeys, MasterKey, UnknownMasterKey, key_bytes

_MASTER_KEY = TypeAdapter(MasterKey)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("new", help="print a fresh master key (32 random bytes, base64)")
    rotate = actions.add_parser(
        "rotate", help="re-seal every journey's data key under a new master key, in batches"
    )
    rotate.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="the service's database (default: $DATABASE_URL)",
    )
    rotate.add_argument(
        "--key-variable",
        default="IDENTITY_MASTER_KEY",
        help="the variable holding the new master key; VARIABLE_PREVIOUS holds the one it "
        "replaces (default IDENTITY_MASTER_KEY; the flags service's: NOTES_MASTER_KEY)",
    )
    rotate.add_argument("--batch-size", type=int, default=500, help="keys per transaction")


class KeysError(Exception):
    """What stops `journey keys`, said in one line."""


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "new":
            print(base64.b64encode(os.urandom(32)).decode())
            return 0
        return asyncio.run(_rotate(args))
    except KeysError as error:
        print(f"journey keys {args.action}: {error}", file=sys.stderr)
        return 1


def _master_key(variable: str) -> bytes | None:
    value = os.environ.get(variable)
    if not value:
        return None
    try:
        return key_bytes(_MASTER_KEY.validate_python(SecretStr(value)))
    except ValidationError:
        raise KeysError(f"{variable} is not a master key (32 bytes, base64)") from None


async def _rotate(args: argparse.Namespace) -> int:
    if not args.database_url:
        raise KeysError("give --database-url or set DATABASE_URL (the service's database)")
    if args.batch_size < 1:
        raise KeysError("--batch-size must be at least 1")
    new, previous = (_master_key(args.key_variable + end) for end in ("", "_PREVIOUS"))
    if new is None:
        raise KeysError(f"set {args.key_variable} to the new master key")
    keys = JourneyKeys(new, *([previous] if previous else []))
    conn = await asyncpg.connect(args.database_url)
    try:
        resealed = await reseal_all(conn, keys, batch_size=args.batch_size)
        left = await keys.sealed_by_others(conn)
    except UnknownMasterKey as unknown:
        raise KeysError(
            f"{unknown}: set {args.key_variable}_PREVIOUS to the key being replaced"
        ) from None
    finally:
        await conn.close()
    print(
        f"resealed {resealed} journeys' keys under master key {keys.master_key_id}; "
        f"{left} sealed by another key"
    )
    return 0 if left == 0 else 1


async def reseal_all(conn: asyncpg.Connection, keys: JourneyKeys, *, batch_size: int) -> int:
    """Every journey's key not yet sealed by the master key, re-sealed a batch per
    transaction; how many."""
    resealed, after = 0, ""
    while True:
        async with conn.transaction():
            done = await keys.reseal(conn, after=after, limit=batch_size)
        if not done:
            return resealed
        resealed, after = resealed + len(done), done[-1]
