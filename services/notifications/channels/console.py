"""The console channel (zero-install mode): SMS texts printed instead of sent, personal data masked."""

from __future__ import annotations

import logging

from services.notifications.channels import Outgoing
from services.notifications.privacy import mask_phone, redact

log = logging.getLogger("cchc.notifications.console")


class ConsoleSms:
    local = True  # printed, not sent: the per-channel rate limit does not apply
    def send(self, message: Outgoing) -> str:
        log.info("SMS #%s to %s: %s", message.id, mask_phone(message.recipient),
                 redact(message.body, message.personal))
        return "printed to the console"
