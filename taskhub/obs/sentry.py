"""Sentry error reporting, on only when SENTRY_DSN is set."""

from __future__ import annotations

from django.conf import settings


def init_sentry() -> bool:
    """Initialise sentry-sdk with the Django and Celery integrations; False when off.

    Integrations are chosen, not auto-enabled: the SDK would otherwise also hook
    openai, mcp and redis, whose payloads may carry user data.
    """
    if not settings.SENTRY_DSN:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        environment=settings.SENTRY_ENVIRONMENT,
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        send_default_pii=False,
        auto_enabling_integrations=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
    return True
