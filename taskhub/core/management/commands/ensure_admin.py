"""Create the demo superuser if it does not exist (used by ``make run``)."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo admin user (DEMO_ADMIN_USERNAME / DEMO_ADMIN_PASSWORD) if missing."

    def handle(self, *args: Any, **options: Any) -> None:
        username = settings.DEMO_ADMIN_USERNAME
        password = settings.DEMO_ADMIN_PASSWORD
        password_file = settings.VAR_DIR / "admin_password"
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            remembered = password or (password_file.read_text().strip() if password_file.exists() else "(unchanged)")
            self.stdout.write(f"admin user: {username} / {remembered}")
            return
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        settings.VAR_DIR.mkdir(exist_ok=True)
        password_file.write_text(password)
        password_file.chmod(0o600)
        self.stdout.write(f"admin user created: {username} / {password}")
