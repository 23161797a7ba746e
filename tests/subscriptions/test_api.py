from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from taskhub.channels.services import channel_create
from taskhub.executions.models import Execution
from taskhub.subscriptions.models import Subscription
from tests.factories import active_periodic, periodic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]

WEATHER = {
    "kind": "periodic",
    "title": "Beijing weather",
    "tool": "current_weather",
    "arguments": {"city": "Beijing"},
    "cron": "0 8 * * *",
    "timezone": "Asia/Shanghai",
    "template": "{title}: {temperature_c}°C",
}


def test_create_confirm_and_list_a_periodic_subscription(alice, api_for) -> None:
    api = api_for(alice)
    created = api.post("/api/v1/subscriptions/", WEATHER, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["cron"], body["timezone"]) == ("draft", "0 8 * * *", "Asia/Shanghai")
    assert len(body["channels"]) == 1  # the user's inbox by default

    confirmed = api.post(f"/api/v1/subscriptions/{body['id']}/confirm/")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "active"
    assert PeriodicTask.objects.filter(name__startswith="bucket:").count() == 1

    listed = api.get("/api/v1/subscriptions/?status=active").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]

    again = api.post(f"/api/v1/subscriptions/{body['id']}/confirm/")
    assert again.status_code == 409
    assert again.json() == {"error": "cannot confirm a active subscription", "fields": {"status": ["active"]}}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "0 8 * *"}, "cron"),
        ({"cron": "61 8 * * *"}, "cron"),
        ({"cron": "* * * * *"}, "cron"),  # every minute: below the 5-minute minimum
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"kind": "weekly"}, "kind"),
        ({"title": ""}, "title"),
        ({"template": "{user.password}"}, "template"),
        ({"template": "{0.__class__}"}, "template"),
        ({"channels": [999999]}, "channels"),
        ({"run_at": "2030-01-01T00:00:00Z"}, "run_at"),
        ({"arguments": ["Beijing"]}, "arguments"),
        ({"tool": "rm_rf"}, "tool"),
        ({"template": "{temperature}"}, "template"),  # not a field of current_weather's output
        ({"arguments": {}}, "arguments.city"),
        ({"arguments": {"city": 42}}, "arguments.city"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(alice, api_for, change, field) -> None:
    response = api_for(alice).post("/api/v1/subscriptions/", {**WEATHER, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert not Subscription.objects.exists()


def test_one_off_in_the_past_is_refused(alice, api_for) -> None:
    body = {"kind": "once", "title": "call mum", "tool": "current_weather", "arguments": {"city": "Beijing"}}
    body["run_at"] = "2001-01-01T00:00:00Z"
    response = api_for(alice).post("/api/v1/subscriptions/", body, format="json")
    assert response.status_code == 400
    assert "run_at" in response.json()["fields"]


def test_next_fires_are_in_the_subscribers_time_zone(alice, api_for) -> None:
    sub = active_periodic(alice)
    response = api_for(alice).get(f"/api/v1/subscriptions/{sub.pk}/next-fires/?count=3")
    assert response.status_code == 200
    fires = response.json()["fires"]
    assert len(fires) == 3
    assert all(f.endswith("T08:00:00+08:00") for f in fires)


def test_using_another_users_channel_is_refused_as_unknown(alice, bob, api_for) -> None:
    bobs = channel_create(owner=bob, kind="webhook", name="bob hook", config={"url": "https://example.com/h"})
    response = api_for(alice).post("/api/v1/subscriptions/", {**WEATHER, "channels": [bobs.pk]}, format="json")
    assert response.status_code == 400
    assert "channels" in response.json()["fields"]


def _routes(sub_id: int, channel_id: int, execution_id: int) -> list[tuple[str, str, dict | None]]:
    s = f"/api/v1/subscriptions/{sub_id}/"
    return [
        ("get", s, None),
        ("patch", s, {"title": "mine now"}),
        ("put", s, WEATHER),
        ("delete", s, None),
        ("post", s + "confirm/", None),
        ("post", s + "pause/", None),
        ("post", s + "resume/", None),
        ("post", s + "cancel/", None),
        ("get", s + "next-fires/", None),
        ("post", s + "run-now/", None),
        ("get", f"/api/v1/channels/{channel_id}/", None),
        ("patch", f"/api/v1/channels/{channel_id}/", {"name": "x"}),
        ("delete", f"/api/v1/channels/{channel_id}/", None),
        ("get", f"/api/v1/executions/{execution_id}/", None),
    ]


def test_a_stranger_gets_404_on_every_route_of_anothers_objects_and_sees_none_in_lists(alice, bob, api_for) -> None:
    sub = active_periodic(alice)
    channel = sub.channels.get()
    execution = Execution.objects.create(subscription=sub, fire_key="2026-11-25T00:00:00+00:00")
    stranger = api_for(bob)
    for method, url, body in _routes(sub.pk, channel.pk, execution.pk):
        response = getattr(stranger, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
    for url in ("/api/v1/subscriptions/", "/api/v1/channels/", "/api/v1/executions/"):
        assert stranger.get(url).json()["results"] == [], url
    assert stranger.get(f"/api/v1/subscriptions/{sub.pk}/executions/").json()["results"] == []
    # and nothing changed
    sub.refresh_from_db()
    assert (sub.status, sub.title) == ("active", "Beijing weather")


def test_anonymous_requests_are_refused_everywhere(alice, api_for) -> None:
    sub = periodic(alice)
    anonymous = api_for(None)
    for url in (
        "/api/v1/subscriptions/",
        f"/api/v1/subscriptions/{sub.pk}/",
        "/api/v1/channels/",
        "/api/v1/executions/",
    ):
        assert anonymous.get(url).status_code in (401, 403), url
    assert anonymous.post("/api/v1/subscriptions/", WEATHER, format="json").status_code in (401, 403)


def test_admin_is_staff_only(alice, client) -> None:
    client.force_login(alice)
    response = client.get("/admin/subscriptions/subscription/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_run_now_queues_one_execution_on_the_high_queue(
    alice, api_for, redis_db, django_capture_on_commit_callbacks
) -> None:
    sub = active_periodic(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(alice).post(f"/api/v1/subscriptions/{sub.pk}/run-now/")
    assert response.status_code == 202
    body = response.json()
    assert body["fire_key"].startswith("manual:")
    assert body["status"] == "queued"
    assert sum(redis_db.llen(k) for k in redis_db.keys("high*")) == 1
    assert sum(redis_db.llen(k) for k in redis_db.keys("default*")) == 0


def test_run_now_of_a_cancelled_subscription_is_a_409(alice, api_for) -> None:
    sub = periodic(alice)
    api_for(alice).post(f"/api/v1/subscriptions/{sub.pk}/cancel/")
    response = api_for(alice).post(f"/api/v1/subscriptions/{sub.pk}/run-now/")
    assert response.status_code == 409
    assert not Execution.objects.exists()


def test_last_fired_and_last_succeeded_show_the_latest_finished_runs(alice, api_for) -> None:
    from datetime import UTC, datetime

    sub = active_periodic(alice)
    api = api_for(alice)
    assert {
        k: api.get(f"/api/v1/subscriptions/{sub.pk}/").json()[k] for k in ("last_fired_at", "last_succeeded_at")
    } == {
        "last_fired_at": None,
        "last_succeeded_at": None,
    }

    def run(day: int, status: str) -> None:
        finished = datetime(2026, 11, day, 0, 0, 5, tzinfo=UTC)
        execution = Execution.objects.create(subscription=sub, fire_key=f"2026-11-{day:02d}", status=status)
        Execution.objects.filter(pk=execution.pk).update(
            finished_at=finished if status in ("succeeded", "failed") else None,
            created_at=datetime(2026, 11, day, tzinfo=UTC),
        )

    run(1, "succeeded")
    run(2, "failed")
    run(3, "missed")  # not a run that finished: neither moves
    detail = api.get(f"/api/v1/subscriptions/{sub.pk}/").json()
    listed = api.get("/api/v1/subscriptions/").json()["results"][0]
    paused = api.post(f"/api/v1/subscriptions/{sub.pk}/pause/").json()  # an instance the service returned
    for body in (detail, listed, paused):
        assert (body["last_fired_at"], body["last_succeeded_at"]) == ("2026-11-02T00:00:05Z", "2026-11-01T00:00:05Z")
