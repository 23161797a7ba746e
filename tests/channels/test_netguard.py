"""SSRF battery at delivery time: every vector refused, and a canary on loopback sees no connection."""

from __future__ import annotations

import socket

import pytest

from taskhub.channels import netguard
from taskhub.channels.dispatch import deliver_messages
from taskhub.channels.kinds.webhook import new_secret
from taskhub.channels.models import Channel, Delivery
from tests.channels.conftest import message_for
from tests.channels.receivers import canary, http_receiver

pytestmark = pytest.mark.django_db

VECTORS = [
    "http://127.0.0.1:{port}/",
    "http://127.1:{port}/",
    "http://localhost:{port}/",
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
    "http://[::1]:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::]:{port}/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://10.0.0.1:{port}/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://017700000001:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://user:pw@127.0.0.1:{port}/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_SLAVEOF",
    "ftp://127.0.0.1:{port}/",
    "dict://127.0.0.1:{port}/",
]


def _webhook(owner, url: str, name: str) -> Channel:  # type: ignore[no-untyped-def]
    """A webhook stored as-is, as if saved before today's rules: delivery must still refuse it."""
    return Channel.objects.create(owner=owner, kind="webhook", name=name, config={"url": url}, secret=new_secret())


def test_every_ssrf_vector_is_refused_and_no_connection_is_opened(alice, execution) -> None:
    with canary() as bird:
        channels = [_webhook(alice, url.format(port=bird.port), f"v{i}") for i, url in enumerate(VECTORS)]
        outcomes = deliver_messages([message_for(execution, channel) for channel in channels])
    refused = {VECTORS[i]: (o.status, o.error_kind) for i, o in enumerate(outcomes)}
    assert {url: r for url, r in refused.items() if r != ("failed", "permanent")} == {}
    assert bird.connections == 0
    assert not Delivery.objects.filter(status="sent").exists()


def test_a_name_that_resolves_to_loopback_is_refused(alice, execution) -> None:
    name = next((n for n in ("localhost", "runsc", "vm") if socket.gethostbyname(n) == "127.0.0.1"), "localhost")
    with canary() as bird:
        channel = _webhook(alice, f"http://{name}:{bird.port}/", "named")
        [outcome] = deliver_messages([message_for(execution, channel)])
    assert (outcome.status, outcome.error_kind, bird.connections) == ("failed", "permanent", 0)


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/", "http://[::1]:{port}/", "http://localhost:{port}/"])
def test_a_redirect_to_a_blocked_address_is_refused(alice, execution, settings, target) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.2/32"]  # only the redirector is open
    with canary() as bird, http_receiver(host="127.0.0.2", status=307) as redirector:
        redirector.redirect_to = target.format(port=bird.port)
        channel = _webhook(alice, redirector.url, "redirect")
        [outcome] = deliver_messages([message_for(execution, channel)])
    assert (outcome.status, outcome.error_kind) == ("failed", "permanent")
    assert len(redirector.requests) == 1
    assert bird.connections == 0


def test_redirects_are_followed_up_to_three_hops_then_refused(alice, execution, settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.2/32"]
    with http_receiver(host="127.0.0.2", status=308) as loop:
        loop.redirect_to = loop.url
        channel = _webhook(alice, loop.url, "loop")
        [outcome] = deliver_messages([message_for(execution, channel)])
    assert (outcome.status, outcome.error_kind) == ("failed", "permanent")
    assert len(loop.requests) == 4  # the first request and three redirects


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_would_drop_the_payload_is_not_followed(alice, execution, settings, status) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.2/32"]
    with http_receiver(host="127.0.0.2") as target, http_receiver(host="127.0.0.2", status=status) as mover:
        mover.redirect_to = target.url
        [outcome] = deliver_messages([message_for(execution, _webhook(alice, mover.url, f"moved{status}"))])
    assert (outcome.status, outcome.error_kind) == ("failed", "permanent")
    assert "update the channel's URL" in outcome.error
    assert (len(mover.requests), len(target.requests)) == (1, 0)


def test_the_connection_goes_to_the_vetted_address_even_if_dns_changes_its_answer(
    alice, execution, settings, monkeypatch
) -> None:
    """DNS rebinding: the first answer is vetted and pinned; a later answer (loopback canary) is never used."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.2/32"]
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2"])

    def rebinding_dns(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "hooks.example":  # the outside world we cannot reach: a DNS server that rebinds
            return real(next(answers, "127.0.0.1"), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    with canary() as bird, http_receiver(host="127.0.0.2") as receiver:
        channel = _webhook(alice, f"http://hooks.example:{receiver.port}/hook", "rebind")
        [outcome] = deliver_messages([message_for(execution, channel)])
    assert outcome.status == "sent"
    assert receiver.requests[0].headers["Host"] == f"hooks.example:{receiver.port}"
    assert bird.connections == 0


def test_public_addresses_pass_the_vetting() -> None:
    target = netguard.vet("https://93.184.216.34/hook?x=1")
    assert (target.ip, target.port, target.path) == ("93.184.216.34", 443, "/hook?x=1")
