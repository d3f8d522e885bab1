"""Email over SMTP (smtplib, cooperative under eventlet), one connection per message, with a timeout.

SMTP's own codes decide retry vs failure: 5xx on the recipient or the data is permanent (the address does not
exist, the message is refused), 4xx is "try later", and a refused connection or a timeout is transient.

TLS, from the first byte (``ssl``, port 465) or by STARTTLS (port 587), always verifies the server's certificate
and host name, against ``ca_file`` (a province's private CA, then the only one trusted) or the system's CAs; an
untrusted certificate is a transient failure (fixing the CA file lets the retries through). Credentials are never
sent over a connection that is not encrypted: the settings refuse such a configuration at start-up, and the
transport checks the live socket again before AUTH (a permanent failure: retrying would encrypt nothing).
"""

from __future__ import annotations

import email.policy
import email.utils
import re
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from services.notifications.channels import DeliveryError, Outgoing, permanent, transient
from services.notifications.privacy import redact

_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


def valid_address(address: str) -> bool:
    return bool(_ADDRESS.match(address)) and len(address) <= 254


def build_email(message: Outgoing, sender: str) -> EmailMessage:
    """A UTF-8 MIME message (Vietnamese subject and body), attachments included."""
    if not valid_address(message.recipient):
        raise permanent("recipient: not a valid email address")
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.formatdate(localtime=True)
    mail["Message-ID"] = email.utils.make_msgid(idstring=f"cchc-{message.id}")
    mail["X-CCHC-Notification"] = f"{message.id} {message.kind}"
    mail.set_content(message.body, charset="utf-8")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return mail


class SmtpTransport:
    def __init__(self, settings: Mapping[str, Any], sender: str) -> None:
        self.host = str(settings["host"])
        self.port = int(settings["port"])
        self.username = str(settings.get("username") or "")
        self.password = str(settings.get("password") or "")
        self.starttls = bool(settings.get("starttls"))
        self.ssl = bool(settings.get("ssl"))
        self.ca_file = str(settings.get("ca_file") or "") or None
        self.timeout = float(settings["timeout_seconds"])
        self.sender = sender

    def _tls(self) -> ssl.SSLContext:
        """Certificate and host name verified; with a CA file, only that CA is trusted."""
        return ssl.create_default_context(cafile=self.ca_file)

    def send(self, message: Outgoing) -> str:
        mail = build_email(message, self.sender)
        envelope_from = email.utils.parseaddr(self.sender)[1] or self.sender
        try:
            if self.ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                        context=self._tls())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.starttls:
                    client.starttls(context=self._tls())
                if self.username:
                    if not isinstance(client.sock, ssl.SSLSocket):
                        raise permanent("SMTP: refusing to send credentials over an unencrypted connection "
                                        "(set notifications.email.smtp.starttls or ssl)")
                    client.login(self.username, self.password)
                client.send_message(mail, from_addr=envelope_from, to_addrs=[message.recipient])
        except ssl.SSLCertVerificationError as exc:
            raise transient(f"SMTP server {self.host}:{self.port}: TLS certificate not trusted "
                            f"({exc.verify_message}); a private CA goes in notifications.email.smtp.ca_file") from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _by_code(code, f"recipient refused by the SMTP server: {code} {_text(reply, message)}") from None
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            raise _by_code(exc.smtp_code, f"message refused by the SMTP server: {exc.smtp_code} "
                                          f"{_text(exc.smtp_error, message)}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise transient(f"SMTP authentication failed: {exc.smtp_code}") from None
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            raise transient(f"SMTP server {self.host}:{self.port} unavailable: {type(exc).__name__}: "
                            f"{redact(str(exc), (*message.personal, message.recipient))}") from None
        return f"accepted by {self.host}:{self.port}"


def _by_code(code: int, reason: str) -> DeliveryError:
    return permanent(reason) if 500 <= code < 600 else transient(reason)


def _text(reply: bytes | str, message: Outgoing) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return redact(text, (*message.personal, message.recipient))[:300]
