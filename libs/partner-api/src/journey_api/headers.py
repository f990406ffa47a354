"""Security headers on every response: the APIs' JSON, the dashboards and the docs.

- Content-Security-Policy: pages run only the scripts and styles their own origin serves
  (no inline script anywhere), talk only to their own origin, and are never framed. A
  JSON answer is not a document, so the policy costs it nothing and protects it if a
  browser is ever tricked into rendering one.
- X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer (a page's address may
  hold a pseudonymous journey id; it goes nowhere else).
- Cache-Control: no-store on every answer to a bearer-token request: those carry journey
  records, identities, flags or record-level exports, which no browser or proxy cache
  may keep. Health probes, the OpenAPI document, the docs and the dashboards' static
  files carry nothing about anyone and stay cacheable.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import Scope

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Raw, as the ASGI start message holds them: added to every response, no parsing.
_POLICY = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
_ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
SWAGGER_CDN = "https://cdn.jsdelivr.net"


def add_security_headers(headers: MutableHeaders, scope: Scope) -> None:
    """Called with each response's headers as it starts; a route's own CSP (the docs)
    stands."""
    raw = headers.raw
    if all(name != _POLICY[0] for name, _ in raw):
        raw.append(_POLICY)
    raw.extend(_ALWAYS)
    if scope.get("state", {}).get("principal") is not None:  # set by `authenticate`
        headers["Cache-Control"] = "no-store"


def install_docs(app: FastAPI, *, title: str) -> None:
    """Swagger UI at /docs (FastAPI's page, from its CDN) under a policy of its own: its one
    inline script is allowed by its hash, not by 'unsafe-inline'. Create the app with
    `docs_url=None`."""
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json", title=f"{title} - docs"
    ).body
    inline = re.search(rb"<script>(.*?)</script>", page, re.DOTALL)
    assert inline is not None, "FastAPI's docs page changed shape"
    digest = base64.b64encode(hashlib.sha256(inline.group(1)).digest()).decode()
    policy = "; ".join(
        (
            "default-src 'none'",
            f"script-src {SWAGGER_CDN} 'sha256-{digest}'",
            # Swagger UI sets style attributes as it renders; scripts stay locked down.
            f"style-src {SWAGGER_CDN} 'unsafe-inline'",
            "img-src 'self' data: https://fastapi.tiangolo.com",
            "connect-src 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": policy})
