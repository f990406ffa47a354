"""Errors a domain rule raises; the API layer decides how each is answered (problems.py)."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused a command; nothing was written. The message is said to
    the client, so it names the rule, never a person's details."""


class StateConflict(DomainError):
    """The journey's state does not allow this record (yet)."""
