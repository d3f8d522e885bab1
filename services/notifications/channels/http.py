"""One HTTP POST with a timeout (urllib: standard library, cooperative under eventlet), and what its outcome
means for the outbox: 2xx delivered; 408, 425, 429 and 5xx, a refused connection or a timeout retried; any other
4xx permanent (the request itself is wrong and would be refused again).

Redirects are never followed. urllib's default would repeat a 302 as a GET without the body to wherever the
``Location`` points, with our ``Authorization`` header, and report the target's 200 as delivered: the message
lost, the gateway's token handed to a third party. A 3xx is a failure the outbox retries (a gateway that moved
is fixed in configuration, then the retries go through)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from services.notifications.channels import permanent, transient
from services.notifications.privacy import redact

RETRY_STATUSES = frozenset({408, 425, 429})


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Turns every redirect into an HTTPError carrying the 3xx, instead of a new request elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float, what: str,
         personal: Sequence[str] = ()) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(4096)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise transient(f"{what} answered HTTP {exc.code} (a redirect: not followed; correct the URL in "
                            "the configuration)") from None
        detail = redact(exc.read(300).decode("utf-8", "replace").strip(), personal)
        reason = f"{what} answered HTTP {exc.code}" + (f": {detail}" if detail else "")
        if exc.code in RETRY_STATUSES or exc.code >= 500:
            raise transient(reason) from None
        raise permanent(reason) from None
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        cause = getattr(exc, "reason", exc)
        raise transient(f"{what} unreachable: {type(cause).__name__}: {cause}") from None
    if not 200 <= status < 300:  # 1xx or anything urllib let through: not an acceptance
        raise transient(f"{what} answered HTTP {status}")
    return status
