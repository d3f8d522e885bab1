"""How a download proves it may read a document: the document's token, or a link that expires.

* ``Authorization: Bearer <token>`` — the document's own token, for programs (the token never appears in a URL,
  so no access log, proxy log or browser history keeps it);
* ``/documents/<id>?expires=<unix time>&signature=<hex>`` — a link for people (in an answer, an e-mail), signed
  with the document's token as key: it names no secret, and stops working at ``expires``. Whoever holds the
  token can mint such links; a leaked link reveals neither the token nor access beyond its expiry.

The query form ``?token=`` is no longer accepted: it put the permanent credential into every log line.
Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["bearer_token", "link_valid", "signature", "signed_path", "token_valid"]


def signature(token: str, document_id: int, expires: int) -> str:
    return hmac.new(token.encode(), f"{document_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def signed_path(document_id: int, token: str, expires: int) -> str:
    """The link's path and query, valid until the unix time ``expires``."""
    return f"/documents/{document_id}?expires={expires}&signature={signature(token, document_id, expires)}"


def bearer_token(headers: Mapping[str, str]) -> str:
    """The token of an ``Authorization: Bearer …`` header ("" without one)."""
    scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def token_valid(expected: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def link_valid(token: str, document_id: int, expires: str, given_signature: str, now: float) -> bool:
    """A signed link's parameters (as text, from the query) check out and it has not expired."""
    if not expires.isdigit() or len(expires) > 12 or not given_signature:
        return False
    if int(expires) < now:
        return False
    return hmac.compare_digest(signature(token, document_id, int(expires)).encode(), given_signature.encode())
