"""TaskHub: chat requests turned into subscriptions an agent runs offline."""

from __future__ import annotations

from taskhub.celery import app as celery_app

__all__ = ["celery_app"]
