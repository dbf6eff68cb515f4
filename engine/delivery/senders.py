"""Sending: an email over SMTP (aiosmtplib) and a signed webhook call (the
standard library's ``http.client`` on a worker thread: one POST with a timeout
needs no client library).

Each returns nothing when the far end took the delivery and raises
:class:`DeliveryFailed` with a short, readable reason otherwise (refused,
timed out, unreachable, an HTTP status): the outbox keeps the entry and the
reason, and tries again later. A server that hangs (takes the connection and
never answers, or stalls after EHLO or DATA) is given up at the timeout, the
whole session's. An SMTP server that refuses the message itself for good (a
5xx answer to MAIL FROM, RCPT TO or DATA) makes the failure ``permanent``: the
outbox marks the email failed at once, never tries it again. A 5xx to the
greeting, EHLO or AUTH is the account's settings, not the message: retried
like any failure, so fixed settings still send it.

Webhook signature: ``Parley-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>"
keyed with the webhook's secret>``, the timestamp (Unix seconds) in
``Parley-Timestamp``; ``Parley-Event-Id`` is the event's id (the same on every
attempt and every webhook: de-duplicate by it) and ``Parley-Delivery-Id`` the
outbox entry's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import http.client
import ssl
from urllib.parse import urlsplit

import aiosmtplib

from engine.delivery.compose import build
from engine.delivery.settings import MailSettings
from engine.persistence.schema import OutboxDoc

USER_AGENT = "Parley-Webhooks/1"
MAX_REASON = 300


class DeliveryFailed(Exception):
    """The far end did not take the delivery (the reason is for people);
    ``permanent``: it never will (a 5xx refusal of the message)."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


# What refuses the message itself (not the connection, the greeting or the login).
_MESSAGE_REFUSED = (
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPRecipientRefused,
    aiosmtplib.SMTPDataError,
)


def _refused_for_good(error: aiosmtplib.SMTPException) -> bool:
    """A 5xx answer to MAIL FROM, RCPT TO or DATA."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(r.code >= 500 for r in error.recipients)
    return isinstance(error, _MESSAGE_REFUSED) and 500 <= error.code < 600


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Parley-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


async def send_email(settings: MailSettings, doc: OutboxDoc, seconds: float) -> None:
    """Hand one email to the account's SMTP server within ``seconds`` (the
    whole session: connect, greeting, EHLO, AUTH, DATA)."""
    if not settings.ready:
        raise DeliveryFailed("no SMTP server set: parley mail set --host ... --from ...")
    message = build(doc, settings.from_address)
    client = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        username=settings.username or None,
        password=settings.password or None,
        use_tls=settings.tls == "tls",
        start_tls=settings.tls == "starttls",
        timeout=seconds,
    )
    try:
        # The whole session, not each step. Not aiosmtplib.send: its context
        # manager, cancelled at the timeout, still says QUIT and waits up to
        # ``seconds`` more for a server that has stopped answering (a session
        # given 30 s took 60).
        async with asyncio.timeout(seconds):
            await client.connect()
            await client.send_message(message)
            with contextlib.suppress(aiosmtplib.SMTPException):
                await client.quit()  # the message is taken: a QUIT refused changes nothing
    except TimeoutError:
        raise DeliveryFailed(
            f"SMTP server {settings.host}:{settings.port} did not answer in {seconds:g} s"
        ) from None
    except aiosmtplib.SMTPRecipientsRefused as error:
        permanent = _refused_for_good(error)
        raise DeliveryFailed(_short(f"recipient refused: {error}"), permanent) from None
    except aiosmtplib.SMTPException as error:
        reason = _short(f"SMTP {settings.host}:{settings.port}: {error}")
        raise DeliveryFailed(reason, _refused_for_good(error)) from None
    except OSError as error:
        raise DeliveryFailed(
            _short(f"SMTP {settings.host}:{settings.port} unreachable: {error.strerror or error}")
        ) from None
    finally:
        client.close()  # at once, whatever the session's state


def _short(reason: str) -> str:
    return " ".join(reason.split())[:MAX_REASON]


def _post(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)  # a little of the answer, then the connection closes
        return response.status
    finally:
        connection.close()


async def post_webhook(
    url: str, secret: str, event_id: str, delivery_id: str, body: bytes, now_s: int, seconds: float
) -> None:
    """POST one event; a 2xx answer is taken, anything else raises."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Parley-Event-Id": event_id,
        "Parley-Delivery-Id": delivery_id,
        "Parley-Timestamp": str(now_s),
        "Parley-Signature": sign(secret, now_s, body),
    }
    try:
        async with asyncio.timeout(seconds + 1):
            status = await asyncio.to_thread(_post, url, headers, body, seconds)
    except TimeoutError:
        raise DeliveryFailed(f"no answer from {url[:200]} in {seconds:g} s") from None
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryFailed(_short(f"{url[:200]}: {error}")) from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{url[:200]} answered HTTP {status}")
