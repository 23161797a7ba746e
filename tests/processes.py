"""Start real TaskHub processes (Celery workers, servers) for tests, and stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# The offline fuel series is read on this day in every test and bench (tools/servers/config.py):
# Shanghai 92 is then 7.95, whatever today's date.
OFFLINE_FUEL_DATE = "2026-11-25"


def stop(proc: subprocess.Popen[Any], *, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if ``proc`` is still there after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def process_env(**overrides: str) -> dict[str, str]:
    """Environment for a child process that sees what this test sees: the test database and Redis."""
    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        user = f"{db['USER']}@" if db["USER"] else ""
        env["DATABASE_URL"] = f"postgres://{user}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    elif db["ENGINE"].endswith("sqlite3") and not connection.is_in_memory_db():
        # SQLite (make run's default): the test database is a file (settings), children open it too
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    env["REDIS_URL"] = settings.REDIS_URL
    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


@contextlib.contextmanager
def celery_worker(
    *,
    queues: Sequence[str] = ("high", "default", "low"),
    concurrency: int = 1,
    name: str = "test",
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery worker`` process consuming ``queues``; stopped (warm shutdown) on exit."""
    args = ["worker", "-Q", ",".join(queues), "--concurrency", str(concurrency), "-n", f"{name}-{os.getpid()}@%h"]
    args += ["--without-gossip", "--without-mingle", *extra_args]
    # a warm shutdown lets running tasks finish
    with _celery(args, env=env, log_path=log_path, stop_timeout=20) as proc:
        yield proc


@contextlib.contextmanager
def tool_servers(*, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """Every MCP tool server (``tools.servers.app``) in one real uvicorn process; yields its base URL.

    The servers need only Redis: the child gets this test's REDIS_URL. The offline
    fuel prices are those of ``OFFLINE_FUEL_DATE``.
    """
    child_env = dict(os.environ, REDIS_URL=settings.REDIS_URL, PYTHONUNBUFFERED="1", TOOLS_FUEL_DATE=OFFLINE_FUEL_DATE)
    child_env.update(env or {})
    with asgi_server("tools.servers.app:app", port=port, env=child_env) as url:
        yield url


@contextlib.contextmanager
def asgi_server(app: str, *, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """``uvicorn app`` in a real process on loopback (environment ``env``, default this one); yields its URL."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env or dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        wait_for_port(port, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@contextlib.contextmanager
def python_module(module: str, *args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """``python -m module args`` with this test's database and Redis, stdout piped (text); killed on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env or process_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


@contextlib.contextmanager
def celery_beat(
    *, env: dict[str, str] | None = None, log_path: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery beat`` on the database scheduler, checking its schedule every second."""
    args = ["beat", "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--max-interval", "1", "--pidfile="]
    with _celery(args, env=env, log_path=log_path) as proc:
        yield proc


@contextlib.contextmanager
def _celery(
    args: Sequence[str], *, env: dict[str, str] | None, log_path: Path | None, stop_timeout: float = 10
) -> Iterator[subprocess.Popen[bytes]]:
    """``celery -A taskhub ARGS`` with this test's database and Redis; output to ``log_path``; stopped on exit."""
    cmd = [sys.executable, "-m", "celery", "-A", "taskhub", *args, "--loglevel", "INFO"]
    with open(log_path or os.devnull, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env or process_env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            stop(proc, timeout=stop_timeout)


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts connections on 127.0.0.1:``port`` (or fail if ``proc`` died)."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")
