"""Outbound HTTP to user-supplied URLs without server-side request forgery.

``vet(url)`` parses the URL, resolves the host once and refuses it when ANY address
is not a public unicast address (loopback, private, link-local, CGNAT, multicast,
unspecified, reserved, IPv4-mapped/compatible forms of those, cloud metadata). The
request is then made to the vetted IP itself with the name in ``Host`` and SNI, so a
second DNS answer (rebinding) cannot change where we connect. 307/308 redirects are followed
by hand, each hop vetted again. ``WEBHOOK_ALLOWED_HOSTS`` (host names or CIDRs)
opens private targets for development and tests.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings

from taskhub.core.errors import ErrorKind, PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_REDIRECTS = 3
# Metadata services that are reachable at addresses not all covered by the generic checks.
_METADATA = {ipaddress.ip_address(a) for a in ("169.254.169.254", "100.100.100.200", "fd00:ec2::254", "192.0.0.192")}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class BlockedURL(PermanentError):
    """A URL we refuse to connect to; nothing was opened."""


@dataclass(frozen=True)
class Target:
    """A vetted URL: connect to ``ip``:``port``, say ``host`` in Host/SNI, request ``path``."""

    scheme: str
    host: str
    port: int
    ip: str
    path: str


def _public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return _public(embedded)
        if int(ip) >> 32 == 0 and int(ip) > 1:  # IPv4-compatible ::a.b.c.d (deprecated)
            return _public(ipaddress.IPv4Address(int(ip)))
    if ip in _METADATA or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT):
        return False
    flags = (ip.is_loopback, ip.is_private, ip.is_link_local, ip.is_multicast, ip.is_unspecified, ip.is_reserved)
    return ip.is_global and not any(flags)


def _allowed(host: str, ips: list[IPAddress]) -> bool:
    """Whether the allow-list opens this host: by exact name, or every address inside a listed CIDR."""
    names = {entry.lower().rstrip(".") for entry in settings.WEBHOOK_ALLOWED_HOSTS if "/" not in entry}
    if host.lower().rstrip(".") in names:
        return True
    networks = [ipaddress.ip_network(entry, strict=False) for entry in settings.WEBHOOK_ALLOWED_HOSTS if "/" in entry]
    return bool(networks) and all(any(ip in net for net in networks) for ip in ips)


def check_syntax(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of an http(s) URL; ``BlockedURL`` otherwise (no DNS here)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURL(f"malformed URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedURL(f"scheme {parts.scheme!r} is not allowed; use http or https")
    if not parts.hostname:
        raise BlockedURL("URL has no host")
    if parts.username or parts.password:
        raise BlockedURL("credentials in the URL are not allowed")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def vet(url: str) -> Target:
    """Resolve and vet ``url``; ``BlockedURL`` if any address is not public (and not allow-listed)."""
    scheme, host, port, path = check_syntax(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedURL(f"cannot resolve {host!r}: {exc}", kind=ErrorKind.TEMPORARY) from None
    ips = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not ips:
        raise BlockedURL(f"{host!r} has no address", kind=ErrorKind.TEMPORARY)
    if not _allowed(host, ips):
        blocked = [str(ip) for ip in ips if not _public(ip)]
        if blocked:
            raise BlockedURL(f"{host!r} resolves to a non-public address ({', '.join(blocked)})")
    return Target(scheme=scheme, host=host, port=port, ip=str(ips[0]), path=path)


class PinnedClient:
    """Connection pools keyed by (scheme, vetted IP, port, host name); one per batch of sends."""

    def __init__(self, *, timeout_s: float) -> None:
        self.timeout = urllib3.Timeout(total=timeout_s)
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()  # the webhook channel posts from several threads

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.ip, target.port, target.host)
        with self._lock:
            return self._pools.get(key) or self._new_pool(key, target)

    def _new_pool(self, key: tuple[str, str, int, str], target: Target) -> urllib3.HTTPConnectionPool:
        size = settings.WEBHOOK_CONCURRENCY
        if target.scheme == "https":
            # connect to the vetted IP; SNI and certificate checks use the name
            pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
                target.ip,
                target.port,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
                ca_certs=certifi.where(),
                maxsize=size,
                block=False,
            )
        else:
            pool = urllib3.HTTPConnectionPool(target.ip, target.port, maxsize=size, block=False)
        self._pools[key] = pool
        return pool

    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> tuple[urllib3.BaseHTTPResponse, str]:
        """POST to ``url`` and to each 307/308 hop (vetted, at most ``MAX_REDIRECTS``); (response, final URL).

        Connection errors and timeouts propagate as urllib3 exceptions for the caller to classify.
        """
        for _ in range(MAX_REDIRECTS + 1):
            target = vet(url)
            default_port = 443 if target.scheme == "https" else 80
            host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
            if ":" in target.host:  # IPv6 literal
                host_header = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
            response = self._pool(target).urlopen(
                "POST",
                target.path,
                body=body,
                headers={**headers, "Host": host_header},
                redirect=False,
                retries=False,
                timeout=self.timeout,
                assert_same_host=False,
            )
            location = response.headers.get("Location")
            # Only 307/308 promise the same method and body; a 301/302/303 would turn the
            # signed POST into a GET without its payload, so it is returned as the answer.
            if response.status in (307, 308) and location:
                response.drain_conn()
                url = urljoin(url, location)
                continue
            return response, url
        raise BlockedURL(f"more than {MAX_REDIRECTS} redirects")

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
