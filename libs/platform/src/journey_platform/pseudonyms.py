"""Pseudonymous ids: keyed HMAC-SHA256, so nobody without the key can link them back.

The same person's stable identifiers always give the same pseudonym under one key
(that is how a re-referral finds its journey), while each `purpose` gives an unrelated
one, so a journey id cannot be matched against, say, a match key used for de-duplication.
Pseudonymised data is still personal data for whoever holds the key (ICO guidance).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata

JOURNEY_ID_PREFIX = "jny_"


def _normalise(value: str) -> str:
    # Case, accents and spacing vary between agencies' records of the same person.
    decomposed = unicodedata.normalize("NFKD", value)
    folded = decomposed.encode("ascii", "ignore").decode()
    if not any(c.isalnum() for c in folded):
        # Nothing left of a name in another script (Arabic, Chinese, Tigrinya): keep its
        # letters and digits instead. Where the ASCII fold has any, it stays the key, so
        # every pseudonym made before this fallback is unchanged.
        folded = "".join(c for c in decomposed if _letter_or_digit(c) or c.isspace())
    return " ".join(folded.lower().split())


def _letter_or_digit(character: str) -> bool:
    return unicodedata.category(character)[0] in "LN"


def has_letter(value: str) -> bool:
    """Whether `value` holds a letter of any script: what a name needs to be
    pseudonymised (a name of control characters or a lone symbol normalises to nothing)."""
    return any(unicodedata.category(c)[0] == "L" for c in value)


def _b32(digest: bytes) -> str:
    return base64.b32encode(digest[:16]).decode().rstrip("=").lower()


class Pseudonymiser:
    """Derives pseudonyms from identifiers under one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("a pseudonym key needs at least 32 bytes")
        self._key = key

    def pseudonym(self, *, purpose: str, identifiers: list[str]) -> str:
        """A stable 128-bit pseudonym for these identifiers, separated by purpose."""
        if not identifiers or any(not _normalise(i) for i in identifiers):
            raise ValueError("pseudonyms need at least one non-empty identifier")
        message = "\x1f".join([purpose, *(_normalise(i) for i in identifiers)])
        return _b32(hmac.new(self._key, message.encode(), hashlib.sha256).digest())

    def journey_id(self, *identifiers: str) -> str:
        """The journey id for a person known by these stable identifiers."""
        return JOURNEY_ID_PREFIX + self.pseudonym(purpose="journey", identifiers=list(identifiers))


def anonymous_journey_id() -> str:
    """A journey id for a record with no identity at all (an anonymous Duty to Notify report)."""
    return JOURNEY_ID_PREFIX + _b32(secrets.token_bytes(16))
