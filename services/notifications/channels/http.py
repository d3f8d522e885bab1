"""One HTTP POST with a timeout (urllib: standard library, cooperative under eventlet), and what its outcome
means for the outbox: 2xx delivered; 408, 429 and 5xx, a refused connection or a timeout retried; any other
4xx permanent (the request itself is wrong and would be refused again)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from services.notifications.channels import permanent, transient
from services.notifications.privacy import redact

RETRY_STATUSES = frozenset({408, 425, 429})


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float, what: str,
         personal: Sequence[str] = ()) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(4096)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        detail = redact(exc.read(300).decode("utf-8", "replace").strip(), personal)
        reason = f"{what} answered HTTP {exc.code}" + (f": {detail}" if detail else "")
        if exc.code in RETRY_STATUSES or exc.code >= 500:
            raise transient(reason) from None
        raise permanent(reason) from None
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        cause = getattr(exc, "reason", exc)
        raise transient(f"{what} unreachable: {type(cause).__name__}: {cause}") from None
