"""Reads of a user's notification settings."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from taskhub.channels.models import NotificationPreferences


def user_timezone(owner: AbstractBaseUser) -> str:
    """The user's time zone from their notification preferences (UTC until they set one)."""
    tz = NotificationPreferences.objects.filter(owner=owner).values_list("timezone", flat=True).first()
    return tz or "UTC"
