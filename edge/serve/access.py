"""Who may reach the live view: the address it binds, the access token's form, loopback hosts (the
Host header checked against DNS rebinding), and what the page may learn of the source's name."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from fer_edge import defaults
from fer_edge.errors import FerEdgeError


TOKEN_ENV = "FER_EDGE_SERVE_TOKEN"
TOKEN_RE = re.compile(r"[A-Za-z0-9._~-]{8,256}")  # what a URL, a header and a cookie carry unescaped
def parse_address(text: str) -> tuple[str, int]:
    """`PORT`, `HOST:PORT` or `[IPv6]:PORT` -> (host, port); the host defaults to 127.0.0.1, and
    port 0 takes any free port."""
    text = text.strip()
    bad = FerEdgeError(f"--serve takes [HOST:]PORT, e.g. 8080, 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080; "
                       f"got {text!r}")
    if text.isdigit():
        host, port_text = defaults.SERVE_HOST, text
    elif text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or not rest.startswith(":"):
            raise bad
        port_text = rest[1:]
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon or not host:
            raise bad
        if ":" in host:
            raise FerEdgeError(f"--serve {text}: an IPv6 address goes in brackets, e.g. [::1]:8080")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise FerEdgeError(f"--serve {text}: the port must be a number from 0 to 65535")
    # Digits and dots are an IPv4 address or nothing: never a name to look up in DNS.
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise FerEdgeError(f"--serve {text}: {host} is not an IPv4 address") from None
    return host, int(port_text)


def check_token(token: str) -> str:
    if not TOKEN_RE.fullmatch(token):
        raise FerEdgeError(f"--serve-token (or {TOKEN_ENV}): 8 to 256 of the characters A-Z a-z 0-9 . _ ~ -")
    return token


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%")[0]).is_loopback
    except ValueError:
        return False


def _host_is_loopback(host_header: str | None) -> bool:
    """Whether a Host header names this machine's loopback (`localhost`, 127.x.x.x, [::1]), any port."""
    if host_header is None:  # HTTP/1.0 without Host: not a browser, so not a rebinding page
        return True
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host == "localhost" or host.endswith(".localhost") or _is_loopback(host)


def shown_name(name: str) -> str:
    """The source as the page names it: a file by its name only, a stream without the user, password
    or query its URL may carry (viewers need not learn them), a camera as it is."""
    if "://" in name:
        url = urlsplit(name)
        host = url.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        return f"{url.scheme}://{host}{f':{url.port}' if url.port else ''}{url.path}"
    return Path(name).name if "/" in name or "\\" in name else name
