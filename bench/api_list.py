"""How fast the subscription list (REST) and the admin changelist answer with 100,000 subscriptions.

    make bench BENCH=api_list [ARGS="--n 100000"]

Prints the median and p95 of each page over repeated requests, and, as the
baseline measured in the same run, the same list with Django's default
offset pagination and full count (what the keyset pagination and
``show_full_result_count = False`` avoid). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

from _setup import bench_database, machine, percentiles


def _timed(call, repeat: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    figures = percentiles(samples)
    return {"median_ms": figures["p50_ms"], "p95_ms": figures["p95_ms"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with bench_database():
        from django.contrib.auth import get_user_model
        from django.test import Client
        from rest_framework.test import APIClient

        from taskhub.core.canonical import call_key
        from taskhub.subscriptions.models import Subscription
        from taskhub.subscriptions.scheduling import crontab_for

        User = get_user_model()
        owner = User.objects.create_user("bench-owner")
        staff = User.objects.create_superuser("bench-staff", password="x")
        schedule = crontab_for(cron="0 8 * * *", timezone="Asia/Shanghai")
        started = time.perf_counter()
        Subscription.objects.bulk_create(
            (
                Subscription(
                    owner=owner,
                    kind="periodic",
                    status="active" if i % 4 else "paused",
                    title=f"Weather {i}",
                    tool="current_weather",
                    arguments={"city": f"city-{i % 2000}"},
                    call_key=call_key("current_weather", {"city": f"city-{i % 2000}"}),
                    schedule=schedule,
                    timezone="Asia/Shanghai",
                )
                for i in range(args.n)
            ),
            batch_size=5000,
        )
        seeded_s = time.perf_counter() - started
        api = APIClient()
        api.force_authenticate(owner)
        admin = Client()
        admin.force_login(staff)
        figures = {
            "subscriptions": args.n,
            "api_list_first_page": _timed(lambda: api.get("/api/v1/subscriptions/"), args.repeat),
            "api_list_filtered": _timed(
                lambda: api.get("/api/v1/subscriptions/?status=active&page_size=100"), args.repeat
            ),
            "admin_changelist": _timed(lambda: admin.get("/admin/subscriptions/subscription/"), args.repeat),
            "admin_changelist_search": _timed(
                lambda: admin.get("/admin/subscriptions/subscription/?q=Weather+99999"), max(3, args.repeat // 5)
            ),
        }
        # Baseline: offset pagination with a full COUNT(*), Django's default list page.
        from django.core.paginator import Paginator

        def offset_page():  # type: ignore[no-untyped-def]
            class R:
                status_code = 200

            page = Paginator(Subscription.objects.filter(owner=owner).order_by("-id"), 50).page(1000)
            list(page.object_list)
            return R()

        figures["baseline_offset_page_1000_with_count"] = _timed(offset_page, args.repeat)
        figures["seed_s"] = round(seeded_s, 1)
        figures["machine"] = machine()
        for name, value in figures.items():
            print(f"{name:40} {value}")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
