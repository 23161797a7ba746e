"""Settings read from the environment, in a fresh interpreter (settings load once per process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.processes import ROOT, process_env

_ENGINE = (
    "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
)


def _engine_with(database_url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="taskhub.settings")
    return subprocess.run([sys.executable, "-c", _ENGINE], cwd=ROOT, env=env, capture_output=True, text=True)


def test_an_empty_database_url_means_the_zero_setup_sqlite_default() -> None:
    ran = _engine_with("")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "django.db.backends.sqlite3"


def test_a_database_url_django_cannot_use_is_refused_naming_the_variable() -> None:
    ran = _engine_with("nosuchdb//missing-scheme")
    assert ran.returncode != 0
    assert "DATABASE_URL" in ran.stderr


@pytest.mark.skipif(connection.vendor != "postgresql", reason="JIT is PostgreSQL's")
@pytest.mark.django_db
def test_postgresql_connections_run_without_jit_and_keep_the_options_of_the_database_url() -> None:
    url = process_env()["DATABASE_URL"] + "?options=-c%20statement_timeout%3D4321"
    show = (
        "import django; django.setup(); from django.db import connection; cursor = connection.cursor()\n"
        "for name in ('jit', 'statement_timeout'): cursor.execute('SHOW ' + name); print(cursor.fetchone()[0])"
    )
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="taskhub.settings")
    ran = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["off", "4321ms"]
