"""Edge-triggered alert state: one alert per crossing, hysteresis, cooldown, daily cap, alert once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from taskhub.monitoring.models import Monitor
from tests.monitoring.helpers import alerts_of, monitor, observe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tools_registry")]


def test_a_price_crossing_below_the_threshold_alerts_exactly_once_and_staying_below_alerts_no_more(alice) -> None:
    sub = monitor(alice)
    assert observe(7.95, minute=0).alerts == 0
    assert observe(6.9, minute=5).alerts == 1
    for minute, price in enumerate((6.8, 6.5, 6.9, 6.99), start=10):
        assert observe(price, minute=minute).alerts == 0
    [alert] = alerts_of(sub)
    assert alert.meta["alert"] == {
        "condition": "price < 7",
        "field": "price",
        "value": 6.9,
        "threshold": 7.0,
        "previous": 7.95,
        "observed_at": "2026-11-25T06:05:00+00:00",
        "once": False,
    }
    assert alert.fire_key == f"event:{alert.meta['event_id']}"


def test_a_price_that_never_crosses_gives_no_alert(alice) -> None:
    sub = monitor(alice)
    for minute, price in enumerate((7.95, 7.5, 7.0, 7.01)):
        observe(price, minute=minute)
    assert alerts_of(sub) == []


def test_crossing_back_above_and_below_again_alerts_a_second_time(alice) -> None:
    sub = monitor(alice)
    prices = (7.95, 6.9, 7.2, 6.9, 6.8)
    fired = [observe(price, minute=m).alerts for m, price in enumerate(prices)]
    assert fired == [0, 1, 0, 1, 0]
    assert [a.meta["alert"]["previous"] for a in alerts_of(sub)] == [7.95, 7.2]


def test_hysteresis_re_arms_only_after_crossing_back_past_the_margin(alice) -> None:
    sub = monitor(alice, margin=0.5)
    prices = (6.9, 7.2, 6.9, 7.5, 6.9)  # 7.2 is not 7 + 0.5: no re-arm; 7.5 is
    fired = [observe(price, minute=m).alerts for m, price in enumerate(prices)]
    assert fired == [1, 0, 0, 0, 1]
    assert len(alerts_of(sub)) == 2


def test_cooldown_holds_back_a_second_alert_until_it_has_passed(alice) -> None:
    sub = monitor(alice, cooldown_s=3600)
    assert observe(6.9, minute=0).alerts == 1
    assert observe(7.2, minute=10).alerts == 0
    assert observe(6.9, minute=20).alerts == 0  # a new crossing, but within the hour
    assert observe(6.8, minute=59).alerts == 0
    assert observe(6.8, minute=61).alerts == 1  # still below once the hour is over: the held-back alert
    assert len(alerts_of(sub)) == 2


def test_daily_cap_counts_alerts_per_day_in_the_subscribers_time_zone(alice) -> None:
    sub = monitor(alice, daily_cap=2)
    fired = [observe(price, minute=m).alerts for m, price in enumerate((6.9, 7.2, 6.9, 7.2, 6.9, 7.2))]
    assert fired == [1, 0, 1, 0, 0, 0]
    # START is 14:00 in Shanghai: ten hours later it is the next day there.
    assert observe(6.9, minute=10 * 60).alerts == 1
    assert len(alerts_of(sub)) == 3


def test_replaying_an_event_changes_nothing(alice) -> None:
    sub = monitor(alice)
    first = observe(6.9, minute=0, event_id="feed-1")
    again = observe(6.9, minute=0, event_id="feed-1")
    assert (first.alerts, again.alerts, again.event_id) == (1, 1, first.event_id)
    assert len(alerts_of(sub)) == 1


def test_an_event_older_than_the_latest_seen_is_ignored(alice) -> None:
    sub = monitor(alice)
    observe(7.5, minute=10)
    assert observe(6.9, minute=5).outcome == "ignored"
    assert alerts_of(sub) == []


def test_alert_once_fires_once_and_stops_watching(alice) -> None:
    sub = monitor(alice, alert_once=True)
    assert [observe(p, minute=m).alerts for m, p in enumerate((6.9, 7.2, 6.9))] == [1, 0, 0]
    assert Monitor.objects.get(pk=sub.pk).active is False
    assert alerts_of(sub)[0].meta["alert"]["once"] is True


def test_a_compound_condition_is_edge_triggered_too(alice) -> None:
    condition = {"any": [{"field": "price", "op": "lt", "value": 7}, {"field": "price", "op": "pct_drop", "value": 10}]}
    sub = monitor(alice, condition=condition)
    prices = (8.0, 7.1, 7.5, 6.9, 6.5, 7.3, 6.0)  # 7.1 is a 11% drop; 6.9 < 7
    fired = [observe(price, minute=m).alerts for m, price in enumerate(prices)]
    assert fired == [0, 1, 0, 1, 0, 0, 1]
    assert alerts_of(sub)[0].meta["alert"]["condition"] == "(price < 7 or price dropped by 10%)"


def test_paused_monitors_do_not_fire_and_resume_where_they_were(alice) -> None:
    from taskhub.subscriptions import services

    sub = monitor(alice)
    services.subscription_transition(subscription_id=sub.pk, action="pause")
    assert observe(6.9, minute=0).alerts == 0
    services.subscription_transition(subscription_id=sub.pk, action="resume")
    assert observe(6.8, minute=1).alerts == 1


def test_a_match_cut_short_before_its_alerts_existed_is_resumed_without_duplicates(alice, bob) -> None:
    from django.db import transaction

    from taskhub.monitoring import matching
    from taskhub.monitoring.models import Event
    from taskhub.monitoring.services import NewEvent, events_record
    from tests.monitoring.helpers import SHANGHAI_92, START

    subs = [monitor(alice), monitor(bob, condition={"any": [{"field": "price", "op": "lt", "value": 7}]})]
    observe(7.95, minute=0)
    later = START + timedelta(minutes=1)
    [event_id] = events_record([NewEvent("test", "cut", "fuel_price", SHANGHAI_92, {"price": 6.9}, later)])
    with transaction.atomic():  # the match committed, then the worker died before creating executions
        matching._match(Event.objects.get(pk=event_id))
    assert all(alerts_of(sub) == [] for sub in subs)
    assert matching.event_match(event_id=event_id).alerts == 2
    assert matching.event_match(event_id=event_id).alerts == 2  # and a redelivery after that: nothing new
    assert [len(alerts_of(sub)) for sub in subs] == [1, 1]
    assert alerts_of(subs[0])[0].meta["alert"]["previous"] == 7.95
    assert Event.objects.get(pk=event_id).done_at is not None


def test_a_monitor_past_its_end_does_not_alert_and_the_poller_completes_it(alice) -> None:
    from taskhub.monitoring import pollers
    from taskhub.subscriptions import services
    from tests.monitoring.helpers import START

    sub = monitor(alice)
    services.subscription_update(
        subscription_id=sub.pk, owner=alice, spec=services.SubscriptionSpec(ends_at=START + timedelta(minutes=10))
    )
    assert observe(6.9, minute=20).alerts == 0
    pollers.poll_due(now=START + timedelta(minutes=30))
    sub.refresh_from_db()
    assert sub.status == "completed"
    assert alerts_of(sub) == []


@pytest.mark.parametrize(
    "portable",
    [
        pytest.param(False, id="sql", marks=pytest.mark.skipif(connection.vendor != "postgresql", reason="its SQL")),
        pytest.param(True, id="portable"),
    ],
)
def test_both_matching_paths_apply_the_same_alert_rules(alice, portable) -> None:
    """The PostgreSQL statements (the default there) and the portable Python path (SQLite's) agree.

    After every event: who fired and who is armed. Boundaries included: a re-arm
    exactly at the margin, a cooldown exactly over, an alert exactly at ``ends_at``,
    the daily cap reset at midnight in Shanghai.
    """
    from taskhub.subscriptions import services
    from tests.monitoring.helpers import START

    subs = [
        monitor(alice, condition={"field": "price", "op": "lt", "value": 7}, margin=0.5),
        monitor(alice, condition={"field": "price", "op": "lte", "value": 7}, cooldown_s=3600),
        monitor(alice, condition={"field": "price", "op": "gt", "value": 7.5}, margin=0.2, daily_cap=1),
        monitor(alice, condition={"field": "price", "op": "gte", "value": 7.5}, alert_once=True),
        monitor(alice),
    ]
    services.subscription_update(
        subscription_id=subs[4].pk, owner=alice, spec=services.SubscriptionSpec(ends_at=START + timedelta(minutes=35))
    )
    events = [(0, 7.0), (5, 6.9), (10, 7.2), (15, 6.9), (20, 7.5), (22, 7.6)]
    events += [(25, 7.4), (35, 6.8), (60, 6.8), (70, 7.8), (600, 7.9), (610, 6.5)]  # minute 600: next day there
    seen = []
    for minute, price in events:
        before = [len(alerts_of(sub)) for sub in subs]
        observe(price, minute=minute, portable=portable)
        armed = {m.pk: m.armed for m in Monitor.objects.all()}
        fired = {i for i, sub in enumerate(subs) if len(alerts_of(sub)) > before[i]}
        seen.append((fired, "".join("1" if armed[sub.pk] else "0" for sub in subs)))
    assert seen == [
        ({1}, "10111"),
        ({0, 4}, "00110"),
        (set(), "01111"),
        ({4}, "01110"),  # 1 holds but is cooling down
        ({3}, "11101"),  # 0 re-arms exactly at 7 + 0.5; 3 fires once
        ({2}, "11001"),
        (set(), "11001"),  # 7.4 is not back past 7.5 - 0.2
        ({0, 4}, "01100"),  # 4 exactly at its end; 1 still cooling down
        ({1}, "00100"),  # the hour is over
        (set(), "11101"),  # 2 holds, but today's one alert was sent
        ({2}, "11001"),
        ({0, 1}, "00101"),  # 4 holds, but after its end
    ]
    states = {m.pk: (m.active, m.alerts_today) for m in Monitor.objects.all()}
    assert [states[sub.pk] for sub in subs] == [(True, 1), (True, 1), (True, 1), (False, 1), (True, 3)]
    assert [alerts_of(sub)[0].meta["alert"]["condition"] for sub in subs] == [
        "price < 7",
        "price <= 7",
        "price > 7.5",
        "price >= 7.5",
        "price < 7",
    ]
