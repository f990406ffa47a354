"""The ceiling for a write on this machine: a minimal FastAPI + asyncpg endpoint that
stores its JSON body with one INSERT, served exactly as the partner services are (uvicorn,
one worker, uvloop and httptools, no access log).

    DATABASE_URL=... HTTP_PORT=... python bench/write_ceiling.py

`bench/referral_writes.py` runs it beside the referral service and reports the referral
write path as a share of it: whatever the referral path costs beyond this (authorisation,
validation, idempotency, sealing, audit, the outbox) is what that share measures.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=20)
    await pool.execute(
        """CREATE TABLE IF NOT EXISTS ceiling_writes (
               write_id uuid PRIMARY KEY, body jsonb NOT NULL,
               recorded_at timestamptz NOT NULL DEFAULT now())"""
    )
    app.state.pool = pool
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/writes", status_code=201)
async def write(body: dict[str, Any], request: Request) -> Response:
    write_id = uuid.uuid4()
    await request.app.state.pool.execute(
        "INSERT INTO ceiling_writes (write_id, body) VALUES ($1, $2::jsonb)",
        write_id,
        orjson.dumps(body).decode(),
    )
    return Response(
        orjson.dumps({"resource_id": str(write_id)}), 201, media_type="application/json"
    )


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["HTTP_PORT"]),
        log_config=None,
        access_log=False,
    )
