"""Email through Django's mail framework (SMTP by default): plain text plus a small HTML part.

One connection per batch. SMTP replies decide the kind: 4xx temporary, 5xx and refused
recipients permanent; a dropped or unreachable server transient.
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.utils.html import escape, linebreaks

from taskhub.channels.kinds.base import ChannelError, Envelope, PushChannel, Result
from taskhub.core.errors import ErrorKind, InvalidInput


def classify(exc: Exception) -> ChannelError:
    """The kind of an SMTP failure, decided from the server's reply where there is one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return ChannelError(f"recipient refused: {exc.recipients}", kind=ErrorKind.PERMANENT)
    if isinstance(exc, smtplib.SMTPResponseException):
        kind = ErrorKind.TEMPORARY if 400 <= exc.smtp_code < 500 else ErrorKind.PERMANENT
        return ChannelError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", kind=kind, summary=f"SMTP {exc.smtp_code}")
    return ChannelError(f"SMTP connection failed: {exc}", kind=ErrorKind.TRANSIENT)


def _email(envelope: Envelope) -> EmailMultiAlternatives:
    message = envelope.message
    subject = ("[urgent] " if message.urgent else "") + message.title.replace("\n", " ")[:200]
    email = EmailMultiAlternatives(
        subject=subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[envelope.channel.config["to"]],
        headers={"X-TaskHub-Delivery": envelope.key},
    )
    email.attach_alternative(
        f"<h2>{escape(message.title)}</h2>{linebreaks(message.body, autoescape=True)}", "text/html"
    )
    return email


class EmailChannel(PushChannel):
    kind = "email"

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        to = self.require_str(config, "to")
        try:
            validate_email(to)
        except ValidationError:
            raise InvalidInput(
                "config.to: not an email address", fields={"config.to": ["enter a valid email address"]}
            ) from None
        return {"to": to}

    def deliver(self, envelopes: Sequence[Envelope]) -> list[Result]:
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except (smtplib.SMTPException, OSError) as exc:
            error = classify(exc)
            return [Result(error=error) for _ in envelopes]
        results = []
        try:
            for envelope in envelopes:
                # One message per call so that one refused recipient fails only its own push.
                try:
                    connection.send_messages([_email(envelope)])
                    results.append(Result(summary="accepted"))
                except (smtplib.SMTPException, OSError) as exc:
                    results.append(Result(error=classify(exc)))
        finally:
            # the messages are already accepted or classified: a failed QUIT changes nothing
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()
        return results
