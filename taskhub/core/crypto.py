"""Secrets at rest: a model field whose column holds a Fernet token, never the secret.

Webhook signing secrets and event-source secrets must be readable by TaskHub
(it signs and verifies with them) but must not be readable from a database dump
or a backup. ``EncryptedCharField`` encrypts on the way in and decrypts on the
way out with ``FIELD_ENCRYPTION_KEY`` (a Fernet key; derived from ``SECRET_KEY``
when unset). A value written before encryption existed (no token prefix) reads
as itself and is encrypted the next time the row is saved.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

# Every Fernet token starts with its version byte 0x80, base64: "gAAAAA".
_TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a password


@cache
def _fernet(key: str, secret_key: str) -> Fernet:
    if not key:
        key = base64.urlsafe_b64encode(hashlib.sha256(f"taskhub-fields:{secret_key}".encode()).digest()).decode()
    try:
        return Fernet(key)
    except ValueError as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64 bytes)") from exc


def fernet() -> Fernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    """The secret in ``stored``; a legacy plaintext value is returned as it is."""
    if not stored.startswith(_TOKEN_PREFIX):
        return stored
    try:
        return fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        message = "a stored secret does not decrypt: FIELD_ENCRYPTION_KEY (or SECRET_KEY) changed?"
        raise ImproperlyConfigured(message) from exc


class EncryptedCharField(models.CharField):
    """A ``CharField`` stored encrypted; ``max_length`` bounds the column (the token), not the secret."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decrypt(value) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
