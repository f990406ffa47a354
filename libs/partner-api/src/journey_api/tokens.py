"""Development tokens: a local ES256 signing key and its JWKS, and a minting function.

Production tokens come from the identity provider; these are for the local stack, tests
and the simulator only (`journey token --agency ID --scope ...`).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

DEV_ISSUER = "https://auth.victim-journey.localhost"
DEV_AUDIENCE = "victim-journey-partner-api"


class DevelopmentSigner:
    """An ES256 key kept in `folder` (created once), published as `folder/jwks.json`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        private_file = folder / "signing-key.pem"
        if not private_file.exists():
            folder.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            private_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            private_file.chmod(0o600)
        loaded = serialization.load_pem_private_key(private_file.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        self._key = loaded
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(loaded.public_key()))
        # RFC 7638 thumbprint: the key's own stable name.
        canonical = json.dumps(
            {k: public[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
        )
        self.kid = jwt.utils.base64url_encode(hashlib.sha256(canonical.encode()).digest()).decode()
        self.jwks_file = folder / "jwks.json"
        self.jwks_file.write_text(
            json.dumps({"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES256"}]})
        )

    def mint(
        self,
        *,
        agency_id: str,
        scopes: list[str],
        client_id: str | None = None,
        lifetime_seconds: int = 3600,
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": client_id or f"{agency_id}-client",
            "agency_id": agency_id,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + lifetime_seconds,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})
