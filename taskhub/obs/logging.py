"""Structured logging: every record, ours or a library's, leaves as one JSON line.

``logger.info("execution finished", extra={"execution_id": 7})`` and
``structlog.get_logger().info("execution finished", execution_id=7)`` both work;
records emitted inside a Celery task carry ``task_id`` and ``task_name``.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _add_extra(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    record: logging.LogRecord | None = event.get("_record")
    if record is not None:
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_") and key not in event:
                event[key] = value
    return event


def _add_celery_task(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    from celery import current_task

    task = current_task
    if task and task.request and task.request.id:
        event.setdefault("task_id", task.request.id)
        event.setdefault("task_name", task.name)
    return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _add_celery_task,
]


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """A ``LOGGING`` dict for Django; also configures structlog to feed into it."""
    if fmt not in ("json", "console"):
        raise ValueError("LOG_FORMAT must be 'json' or 'console'")
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer = (
        structlog.processors.JSONRenderer(default=str) if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": [*_SHARED, _add_extra],
                "processors": [
                    _add_extra,
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "celery.redirected": {"level": "WARNING"},
        },
    }
