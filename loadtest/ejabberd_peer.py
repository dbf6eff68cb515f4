"""ejabberd as the end-to-end benchmark's peer: the same shape of load (
connections over websockets, about 100-byte messages, each sender keeping a
window in flight, then half the saturated rate) on the Erlang chat server.

Debian's package is used as it ships (``apt-get install -y ejabberd``); the
benchmark skips the column when it is not installed. ejabberd is started here,
not as a service: a config written to a temporary directory, one scheduler
(``+S 1:1``) pinned with taskset to the server's core, anonymous logins (SASL
ANONYMOUS), no modules (no roster, no offline store, no archive), its Mnesia
directory in the temporary directory (sessions and anonymous users live in
memory tables), no Erlang distribution (so no epmd daemon is left behind),
listening on 127.0.0.1 only. It stores nothing: a message is routed from one
session to the other and that is all.

Connection ``i`` sends to connection ``i + n/2`` (and back), type chat, to the
peer's full JID; a message's receipt by its peer lets its sender send the next
(there is no ack in XMPP: delivery closes the loop, where Parley's loop closes
on the durable ack). Latency is from the send to the peer's receipt.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

EJABBERD_EBIN = Path("/usr/lib/x86_64-linux-gnu/ejabberd-23.01/ebin")
INSTALL = "apt-get install -y ejabberd"
_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
OPEN = f'<open xmlns="{_FRAMING}" to="localhost" version="1.0"/>'.encode()
AUTH = b'<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>'
BIND = (
    b'<iq xmlns="jabber:client" type="set" id="bind">'
    b'<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>'
)
_JID = re.compile(rb"<jid>([^<]+)</jid>")
_ID = re.compile(rb" id=['\"]([^'\"]+)['\"]")  # ejabberd quotes with apostrophes

CONFIG = """\
hosts:
  - localhost
loglevel: warning
log_rotate_count: 0
auth_method: anonymous
anonymous_protocol: sasl_anon
allow_multiple_connections: true
listen:
  - port: {port}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /ws: ejabberd_http_ws
acl: {{}}
access_rules:
  c2s:
    allow: all
shaper_rules: {{}}
modules: {{}}
"""


def find() -> Path | None:
    """The ejabberd code of Debian's package, or None when it is not installed."""
    erl = shutil.which("erl")
    if erl is None or not (EJABBERD_EBIN / "ejabberd.app").exists():
        return None
    return EJABBERD_EBIN


class Server:
    """An ejabberd started for one benchmark phase."""

    def __init__(self, proc: asyncio.subprocess.Process, home: Path, port: int) -> None:
        self.proc = proc
        self.home = home
        self.port = port

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                async with asyncio.timeout(10):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)


async def start(port: int, cpu: int | None = 0) -> Server:
    """Start ejabberd on 127.0.0.1:``port`` (0: a free one; one scheduler,
    pinned to ``cpu``) and wait until it takes websocket connections."""
    ebin = find()
    if ebin is None:
        raise RuntimeError(f"ejabberd is not installed ({INSTALL})")
    if not port:
        with socket.socket() as probe:  # a free port (0: any) for its config
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    home = Path(tempfile.mkdtemp(prefix="parley-bench-ejabberd-"))
    config = home / "ejabberd.yml"
    config.write_text(CONFIG.format(port=port))
    env = {
        **os.environ,
        "EJABBERD_CONFIG_PATH": str(config),
        "EJABBERD_LOG_PATH": str(home / "ejabberd.log"),
        "ERL_CRASH_DUMP": str(home / "erl_crash.dump"),
        "HOME": str(home),
    }
    argv = ["erl", "-noinput", "-noshell", "+S", "1:1", "+K", "true", "+P", "250000"]
    argv += ["-pa", str(ebin), "-mnesia", "dir", f'"{home / "db"}"']
    argv += ["-s", "ejabberd"]
    if cpu is not None and cpu < (os.cpu_count() or 1):
        argv = ["taskset", "-c", str(cpu), *argv]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=home,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL,
    )
    server = Server(proc, home, port)
    try:
        async with asyncio.timeout(60):
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"ejabberd ended at start; see {home / 'ejabberd.log'}")
                try:
                    client = await connect(port, Load())
                except OSError:
                    await asyncio.sleep(0.2)
                    continue
                client.transport.disconnect()
                return server
    except BaseException:
        await server.stop()
        raise


class Load:
    """Counters shared by the connections of one run."""

    def __init__(self) -> None:
        self.sent_at: dict[bytes, float] = {}
        self.latencies: list[float] = []
        self.acks = 0  # deliveries: the loop closes on the peer's receipt
        self.errors = 0
        self.measuring = False
        self.saturate = False


class XmppClient(WSListener):  # type: ignore[misc]
    """One anonymous XMPP session over a websocket (RFC 7395)."""

    def __init__(self, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.n = 0
        self.transport: WSTransport = None  # type: ignore[assignment]
        self.jid = b""
        self.stage = "auth"
        self.peer: XmppClient | None = None
        self.sender: dict[bytes, XmppClient] = {}  # filled by the senders
        self.bound = asyncio.get_running_loop().create_future()
        self.head = b""

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        transport.send(WSMsgType.TEXT, OPEN)

    def send_one(self) -> None:
        peer = self.peer
        assert peer is not None
        mid = b"m%d-%d" % (self.index, self.n)
        self.n += 1
        self.load.sent_at[mid] = time.perf_counter()
        self.transport.send(WSMsgType.TEXT, self.head + mid + BODY)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        data = frame.get_payload_as_bytes()
        if data.startswith(b"<message"):
            found = _ID.search(data)
            if found is None:
                return
            load = self.load
            sent = load.sent_at.pop(found.group(1), None)
            if sent is None:
                return
            if load.measuring:
                load.acks += 1
                load.latencies.append(time.perf_counter() - sent)
            if load.saturate and self.peer is not None:
                self.peer.send_one()  # the peer of my peer is me: it sent this
            return
        stage = self.stage
        if stage == "auth" and b"ANONYMOUS" in data:
            self.stage = "success"
            transport.send(WSMsgType.TEXT, AUTH)
        elif stage == "success" and b"<success" in data:
            self.stage = "bind"
            transport.send(WSMsgType.TEXT, OPEN)
        elif stage == "bind" and b"urn:ietf:params:xml:ns:xmpp-bind" in data and b"<iq" not in data:
            self.stage = "bound"
            transport.send(WSMsgType.TEXT, BIND)
        elif stage == "bound" and b"<jid>" in data:
            found = _JID.search(data)
            assert found is not None
            self.jid = found.group(1)
            self.stage = "ready"
            if not self.bound.done():
                self.bound.set_result(self.jid)
        elif b"<failure" in data or b"stream:error" in data or b'type="error"' in data:
            self.load.errors += 1
            if not self.bound.done():
                self.bound.set_exception(RuntimeError(data.decode(errors="replace")))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.bound.done():
            self.bound.set_exception(ConnectionError("ejabberd closed the connection"))


TEXT = b"Hello, I have a question about my order number 12345, thanks!"
BODY = b'"><body>' + TEXT + b"</body></message>"


async def connect(port: int, load: Load, index: int = 0) -> XmppClient:
    _, client = await ws_connect(
        lambda: XmppClient(load, index),
        f"ws://127.0.0.1:{port}/ws",
        extra_headers={"Sec-WebSocket-Protocol": "xmpp"},
    )
    async with asyncio.timeout(30):
        await client.bound
    return client


async def phases(
    connections: int,
    window: int,
    seconds: float,
    warmup: float,
    port: int,
    measure: Any,
) -> dict[str, Any] | None:
    """Saturation then half rate on ejabberd (``measure`` is bench_e2e's, the
    same for every peer); None when ejabberd is not installed."""
    if find() is None:
        return None
    server = await start(port)
    port = server.port
    clients: list[XmppClient] = []
    try:
        load = Load()
        for i in range(connections):
            clients.append(await connect(port, load, i))
        half = max(1, connections // 2)
        for i, client in enumerate(clients):
            peer = clients[(i + half) % connections]
            client.peer = peer
            client.head = b'<message xmlns="jabber:client" type="chat" to="' + peer.jid + b'" id="'
        result: dict[str, Any] = await measure(
            load,
            [client.send_one for client in clients],
            lambda: None,
            window,
            seconds,
            warmup,
            {"server": server.pid},
        )
        result["errors"] = load.errors
        result["rss_kib"] = _rss_kib(server.pid)
        return result
    finally:
        for client in clients:
            client.transport.disconnect()
        await server.stop()


def _rss_kib(pid: int) -> int:
    """The resident memory of ``pid``'s process tree leaf (taskset execs erl,
    which execs the emulator: the same pid)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
