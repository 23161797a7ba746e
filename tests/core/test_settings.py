"""Settings read from the environment, in a fresh interpreter (settings load once per process)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.processes import ROOT

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
