"""Which pages may open a console websocket, checked before the upgrade.

A console is served by this edge, so its page's origin is the server's own:
the ``Origin`` header names the same host and port as the ``Host`` header the
browser sent (over http or https). Consoles served elsewhere are named in the
configured list (``console_origins``), exactly: scheme, host and port.
Requests without ``Origin`` (not a browser) pass, as on the visitor socket:
only browsers need protecting from other pages, and the bridge takes no cookie,
so a page of another origin that got through would still need a token.
"""

from __future__ import annotations

from collections.abc import Collection


def console_origin_allowed(origin: str | None, host: str | None, allowed: Collection[str]) -> bool:
    """Whether a page of ``origin`` may open a console on the server reached as
    ``host`` (the request's Host header)."""
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    if origin in allowed:
        return True
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme not in ("http", "https") or not host:
        return False
    return rest == host.strip().lower()
