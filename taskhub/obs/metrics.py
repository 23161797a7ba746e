"""Prometheus metrics: what the pipeline did (counters) and what it still owes (read from the database).

Counters and histograms are kept by the process that does the work: a web process,
a Celery pool child. With ``PROMETHEUS_MULTIPROC_DIR`` set (before the process
starts: prometheus-client reads it at import) every process writes its values to
files there, and a scrape adds them up, so ``/metrics`` of any one web process
shows all the processes of the host that share the directory (``make run``). A
worker in a container of its own serves its processes on ``METRICS_PORT``.

What is owed comes from the tables that are the source of truth (``Backlog``), at
scrape time: batches waiting, running or past their lease, the lag of the oldest
waiting one, fan-outs not completed and deliveries held for quiet hours.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

EXECUTIONS = Counter("taskhub_executions_total", "Execution results written, by status", ["status"])
SENT = Counter("taskhub_executions_sent_total", "Executions sent to the workers in batch messages (sent again: again)")
PUSHES = Counter("taskhub_pushes_total", "Pushes to channels, by outcome", ["outcome"])
BATCH_SECONDS = Histogram(
    "taskhub_batch_seconds",
    "Time a worker took to run one batch of executions",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
FANOUT_SECONDS = Histogram(
    "taskhub_fanout_seconds",
    "Time one fan-out of a schedule bucket took",
    buckets=(0.01, 0.05, 0.25, 1, 5, 15, 30, 60, 120, 300),
)


class Backlog(Collector):
    """Gauges of the work owed, read from the database at each scrape (small tables and partial indexes)."""

    def collect(self) -> Iterator[Metric]:
        from django.db.models import Count, Min, Q
        from django.db.models.functions import Coalesce
        from django.utils import timezone

        from taskhub.channels.models import Delivery, DeliveryStatus
        from taskhub.executions.models import ExecutionBatch, ScheduleFire

        now = timezone.now()
        due = Q(taken_at=None, lease_expires_at__gte=now) & (Q(run_after=None) | Q(run_after__lte=now))
        batches = ExecutionBatch.objects.aggregate(
            waiting=Count("pk", filter=due),
            backing_off=Count("pk", filter=Q(taken_at=None, lease_expires_at__gte=now, run_after__gt=now)),
            running=Count("pk", filter=Q(taken_at__isnull=False, lease_expires_at__gte=now)),
            expired=Count("pk", filter=Q(lease_expires_at__lt=now)),
            oldest_due=Min(Coalesce("run_after", "created_at"), filter=due),
        )
        family = GaugeMetricFamily("taskhub_batches", "Batches of executions owed, by state", labels=["state"])
        for state in ("waiting", "backing_off", "running", "expired"):
            family.add_metric([state], batches[state])
        yield family
        oldest = batches["oldest_due"]
        yield GaugeMetricFamily(
            "taskhub_batch_lag_seconds",
            "How long the oldest batch that is due has waited for a worker (0: none waiting)",
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "taskhub_fanouts_open",
            "Fan-outs started and not completed (the reconciler resumes them)",
            value=ScheduleFire.objects.filter(completed_at__isnull=True).count(),
        )
        yield GaugeMetricFamily(
            "taskhub_deliveries_held",
            "Pushes held for their owners' quiet hours",
            value=Delivery.objects.filter(status=DeliveryStatus.HELD).count(),
        )


class _ThisProcess(Collector):
    """The default registry: this process's own metrics, when processes do not share a directory."""

    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


def scrape_registry(*, backlog: bool) -> CollectorRegistry:
    """What a scrape shows: every process sharing ``PROMETHEUS_MULTIPROC_DIR`` (else this one), and the backlog."""
    registry = CollectorRegistry(auto_describe=False)
    # prometheus-client's own variable, read from the environment as it reads it (not a Django setting).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    if backlog:
        registry.register(Backlog())
    return registry


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: Prometheus text format; a bearer token is required when ``METRICS_TOKEN`` is set."""
    token = settings.METRICS_TOKEN
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return HttpResponse("metrics need the bearer token (METRICS_TOKEN)\n", status=401, headers=_CHALLENGE)
    return HttpResponse(generate_latest(scrape_registry(backlog=True)), content_type=CONTENT_TYPE_LATEST)


def serve_worker_metrics() -> None:
    """In a worker's main process: serve its pool's metrics on ``METRICS_PORT``, if set."""
    if not settings.METRICS_PORT:
        return
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The pool's children count the work: without the shared directory the main process would show nothing.
        raise ImproperlyConfigured(
            "METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR, a directory for this worker's processes"
        )
    start_http_server(settings.METRICS_PORT, addr=settings.METRICS_ADDR, registry=scrape_registry(backlog=False))
