"""The reports service's domain errors, mapped to RPC errors (``expected_exceptions``) and HTTP statuses."""

from __future__ import annotations


class NotFound(LookupError):
    """An unknown unit, criteria set, period with no figures, or document: nothing is built (404)."""


class BadRequest(ValueError):
    """A malformed request (period label, format, figure): nothing is built (400)."""
