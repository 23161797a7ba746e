"""The Celery application shared by the web process, workers and beat."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import setup_logging, task_prerun, worker_init, worker_process_init
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")

from django.conf import settings

from taskhub import queues

app = Celery("taskhub")

_exchange = Exchange("tasks", type="direct")

app.conf.update(
    broker_url=settings.CELERY_BROKER_URL,
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT,
        "priority_steps": list(range(10)),
        "sep": ":",
        "queue_order_strategy": "priority",
    },
    # Each queue has its own routing key: a queue that shared "default" would
    # receive copies of another queue's messages.
    task_queues=[Queue(name, _exchange, routing_key=name) for name in queues.ALL],
    task_default_queue=queues.DEFAULT,
    task_default_exchange=_exchange.name,
    task_default_routing_key=queues.DEFAULT,
    # No task_default_priority: it would override the priority in task_routes.
    task_routes=queues.task_routes(),
    task_create_missing_queues=False,
    # Results live in our tables, not in a result backend.
    task_ignore_result=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # At-least-once execution: ack after the task body ran, and give the message
    # back when the worker process dies. Effectively-once comes from our tables.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    task_time_limit=settings.CELERY_TASK_TIME_LIMIT,
    worker_send_task_events=True,
    task_send_sent_event=True,
    worker_hijack_root_logger=False,
    timezone="UTC",
    enable_utc=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    # Celery's Django fix-up closes every database connection before and after each
    # task unless this is set, so each batch paid a new PostgreSQL backend (fork and
    # cold caches): about a third of a fan-out's time. With it set, the fix-up closes
    # them only every this many tasks, and ``_reuse_connections`` below applies
    # DATABASE_CONN_MAX_AGE and the health check, as Django does per request.
    CELERY_DB_REUSE_MAX=10_000,
)

if settings.CELERY_TASK_TIME_LIMIT >= settings.CELERY_VISIBILITY_TIMEOUT:
    raise RuntimeError("CELERY_TASK_TIME_LIMIT must be below CELERY_VISIBILITY_TIMEOUT")

# Task modules, listed explicitly: one per area, all thin entry points into services.
app.conf.imports = [
    "agents.worker.tasks",
    "agents.worker.channel_tasks",
    "agents.worker.gateway_tasks",
    "agents.worker.monitor_tasks",
]


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    """Keep the Django LOGGING config (structured JSON) in workers and beat."""
    import logging.config

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
def _reuse_connections(**_: object) -> None:
    """Before each task: drop a connection past DATABASE_CONN_MAX_AGE or broken, keep the rest."""
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def _init_worker_process(**_: object) -> None:
    from taskhub.obs.sentry import init_sentry

    init_sentry()


@worker_init.connect
def _init_worker(**_: object) -> None:
    """The worker's main process serves its pool's metrics on ``METRICS_PORT``, if set."""
    from taskhub.obs.metrics import serve_worker_metrics

    serve_worker_metrics()
