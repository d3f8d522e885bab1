"""Delivery channels: each turns one outgoing message into bytes on a wire (or a file), with a timeout.

A channel reports failure by raising :class:`DeliveryError`: ``permanent`` ones (a malformed or refused
address, a 4xx from a gateway) fail the notification at once with a clear reason; the others (connection
refused, timeout, 5xx, SMTP 4xx) are retried with backoff by the outbox. Reasons never carry the recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. application/pdf
    data: bytes


@dataclass(frozen=True)
class Outgoing:
    """What a channel sends: built by the outbox from a notification row."""

    id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str
    topic: str = ""
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    personal: tuple[str, ...] = ()


class DeliveryError(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def permanent(reason: str) -> DeliveryError:
    return DeliveryError(reason, permanent=True)


def transient(reason: str) -> DeliveryError:
    return DeliveryError(reason, permanent=False)


class Transport(Protocol):
    def send(self, message: Outgoing) -> str:
        """Deliver or raise DeliveryError; returns a short note (server reply, file name) for the attempt log."""
        ...


def transports_from(settings: Mapping[str, Any]) -> dict[str, Transport]:
    """One transport per channel, from settings already checked by ``settings.settings_from``: email (smtp |
    folder), sms (http | console), webhook, letter."""
    from services.notifications.channels.console import ConsoleSms
    from services.notifications.channels.folder import LetterFolder, MailFolder
    from services.notifications.channels.sms_gateway import SmsGateway
    from services.notifications.channels.smtp import SmtpTransport
    from services.notifications.channels.webhook import WebhookTransport

    email, sms = settings["email"], settings["sms"]
    return {
        "email": (SmtpTransport(email["smtp"], email["sender"]) if email["transport"] == "smtp"
                  else MailFolder(email["folder"], email["sender"])),
        "sms": (SmsGateway(sms["url"], sms["token"], sms["sender"], float(sms["timeout_seconds"]))
                if sms["transport"] == "http" else ConsoleSms()),
        "webhook": WebhookTransport(settings["webhooks"], float(settings["webhook_timeout_seconds"])),
        "letter": LetterFolder(settings["letters"]["folder"]),
    }
