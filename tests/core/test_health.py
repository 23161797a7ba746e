from __future__ import annotations

import pytest
from django.test import override_settings

from tests.processes import free_port


@pytest.mark.django_db
def test_healthz_is_ok_when_database_and_redis_answer(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_healthz_names_redis_when_it_is_unreachable(client) -> None:
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert list(body["failing"]) == ["redis"]
    assert "Connection" in body["failing"]["redis"]
