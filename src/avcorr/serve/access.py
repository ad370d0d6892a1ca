"""Who may talk to the server: the token rule and the binding rule.

- **Token rule** (:class:`TokenGuard`): with a token set, every request from a client that is not
  on this machine (not a loopback address) must carry it — ``Authorization: Bearer <token>``, or
  ``?token=<token>`` in the URL (what the web page and its report links use). Local clients never
  need it. Behind a reverse proxy on this machine, uvicorn takes the client address from the
  proxy's ``X-Forwarded-For`` (it trusts that header from 127.0.0.1 only), so remote clients are
  still asked for the token.
- **Binding rule** (:func:`check_binding`): the server listens on a loopback address unless a
  token is set; ``--allow-no-token`` binds elsewhere without one, for a network you trust.
- **Cross-site uploads** (:func:`same_origin`): a page on another site cannot make a visitor's
  browser upload to a local server: a ``POST`` whose ``Origin`` is not this server is refused.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from avcorr.errors import ConfigError

LOCAL_NAMES = ("localhost",)


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped) and ``localhost``."""
    if not host:
        return False
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def check_binding(host: str, token: str | None, allow_no_token: bool) -> None:
    """ConfigError when ``host`` is not loopback, no token is set and ``allow_no_token`` is off."""
    if is_loopback(host) or token or allow_no_token:
        return
    raise ConfigError(f"--host {host} lets other machines connect: set --token (or AVCORR_SERVE_TOKEN), "
                      "or pass --allow-no-token to serve them without one")


def same_origin(origin: str | None, host_header: str | None) -> bool:
    """True when the request has no ``Origin`` (curl, scripts) or its host:port is this server's."""
    if not origin:
        return True
    return bool(host_header) and urlsplit(origin).netloc.lower() == host_header.lower()


class TokenGuard:
    """ASGI middleware enforcing the token rule (module docstring) on every HTTP request."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not self.token or is_loopback((scope.get("client") or ("", 0))[0]):
            await self.app(scope, receive, send)
            return
        if self._presented(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "this server needs a token from clients on other machines "
                                    "(Authorization: Bearer <token>, or ?token=<token>)"}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})

    def _presented(self, scope: dict[str, Any]) -> bool:
        expected = self.token.encode()  # type: ignore[union-attr]
        for name, value in scope.get("headers") or []:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                if hmac.compare_digest(value[7:].strip(), expected):
                    return True
        for value in parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", []):
            if hmac.compare_digest(value.encode(), expected):
                return True
        return False
