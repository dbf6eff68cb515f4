"""``parley serve``: engine, edge and gRPC in one process on uvloop.

Also the first-start bootstrap: an owner account, the server administrator
(who manages accounts and nothing in them), and with ``--demo`` a demo
site, department and operator whose credentials are kept in the data directory
(mode 0600) and printed at every start.

Start order: what can be checked without the data directory first (the TLS
files, whether the ports are free), then the store is opened, both ports are
bound, and only then is the owner written. A start that fails on a port leaves
no owner behind, so the next start still creates it and prints its one-time
password.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import resource
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from argon2 import PasswordHasher
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from control import grpc as services
from control.metrics import MetricsServer
from control.metrics import registry as metrics_registry
from control.permissions import RPC_PERMISSIONS
from edge.bridge.relay import unary_methods
from edge.config import EdgeConfig
from edge.link.service import EdgeLinkService
from edge.server import Edge
from engine.app import Engine
from engine.chat import ids
from engine.chat.directory import SERVER_ACCOUNT
from engine.chat.journal import BACKLOG
from engine.chat.limits import Limits
from engine.chat.permissions import SERVER_ADMIN
from engine.delivery.settings import RetryPolicy
from engine.health import OVERLOADED, STOPPING
from engine.persistence.codec import decode, encode
from engine.persistence.private import write_private
from engine.persistence.schema import META
from engine.runtime import Clock
from parley.v1 import (
    control_pb2,
    control_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
    visitor_pb2,
    visitor_pb2_grpc,
)

log = logging.getLogger("parley.serve")

HEALTH_INTERVAL = 2.0  # seconds between two readings of the health for gRPC's service

SERVICE_NAMES = (
    *(service.full_name for service in control_pb2.DESCRIPTOR.services_by_name.values()),
    operator_pb2.DESCRIPTOR.services_by_name["OperatorSession"].full_name,
    visitor_pb2.DESCRIPTOR.services_by_name["VisitorChannel"].full_name,
)


@dataclass(frozen=True, slots=True)
class ServeConfig:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_port: int = 50051
    metrics_port: int | None = None  # Prometheus metrics on host; None: none, 0: any port
    demo: bool = False
    map_size_mb: int = 1024
    max_map_size_mb: int = 0  # 0: the map grows as the disk allows
    limits: Limits = field(default_factory=Limits)  # site quotas, visitor budgets
    idle_seconds: float = 300.0
    stream_backlog: int = 100_000  # unsent events on a gRPC stream before it is ended
    message_backlog: int = BACKLOG  # accepted, unstored messages before "overloaded"
    tls_cert: Path | None = None  # PEM certificate chain for the gRPC port
    tls_key: Path | None = None  # its PEM private key
    grace_seconds: float = 30.0  # an operator whose session dropped is offline after this
    history: bool = True  # follow the store with the conversations' search index
    delivery: RetryPolicy | None = None  # the outbox's retries; None: the default
    abandon_seconds: float = 60.0  # a waiting visitor gone this long has abandoned
    edge: EdgeConfig = field(default_factory=EdgeConfig)
    # Split mode's engine (``parley engine``): no websocket listener here; edge
    # processes attach to the EdgeLink service with the link secret ("": the
    # data directory's link-secret file, made on the first start).
    websockets: bool = True
    edge_link: bool = False
    link_secret: str = ""
    clock: Clock | None = None  # tests move time by hand
    password_hasher: PasswordHasher | None = None  # tests hash cheaply; None: the default

    def __post_init__(self) -> None:
        if not 0 <= self.grpc_port <= 65535:
            raise ValueError(f"grpc port must be 0-65535, got {self.grpc_port}")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"metrics port must be 0-65535, got {self.metrics_port}")
        if self.map_size_mb < 1:
            raise ValueError("map size must be at least 1 MiB")
        if self.max_map_size_mb and self.max_map_size_mb < self.map_size_mb:
            raise ValueError("the largest map size must be at least the map size")
        if self.idle_seconds <= 0:
            raise ValueError("idle seconds must be positive")
        if self.grace_seconds < 0 or self.abandon_seconds < 0:
            raise ValueError("grace and abandon seconds must be >= 0")
        if self.message_backlog < 0:
            raise ValueError("message backlog must be >= 0 (0: no bound)")
        if self.stream_backlog < 10:
            raise ValueError("stream backlog must be at least 10 events")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both a certificate and a key")


def _write_secret(path: Path, doc: dict[str, Any]) -> None:
    write_private(path, encode(doc))


async def bootstrap_owner(engine: Engine) -> dict[str, str] | None:
    """On the first start, make the account and its owner. Returns the new
    credentials (to print once), or None when an owner exists."""
    if engine.directory.list_accounts():
        return None
    email = os.environ.get("PARLEY_OWNER_EMAIL", "owner@parley.local")
    password = os.environ.get("PARLEY_OWNER_PASSWORD") or ids.random_id(20)
    account = await engine.directory.create_account("default")
    await engine.directory.add_operator(
        account.id, email=email, password=password, display_name="Owner", role="owner", max_chats=0
    )
    creds = {"email": email, "password": password}
    _write_secret(engine.store.path / "owner-credentials.json", creds)
    return creds


async def bootstrap_admin(engine: Engine) -> dict[str, str] | None:
    """On the first start (or the first since there was one), make the server
    administrator: no operator of any account, it may only manage accounts.
    Returns its new credentials (to print once, and kept 0600 in the data
    directory), or None when it exists."""
    directory = engine.directory
    if SERVER_ACCOUNT in directory.accounts:
        return None
    email = os.environ.get("PARLEY_ADMIN_EMAIL", "server-admin@parley.local")
    password = os.environ.get("PARLEY_ADMIN_PASSWORD") or ids.random_id(20)
    await directory.create_account("server administration", SERVER_ACCOUNT)
    await directory.add_operator(
        SERVER_ACCOUNT,
        email=email,
        password=password,
        display_name="Server administrator",
        role=SERVER_ADMIN,
        max_chats=0,
    )
    creds = {"email": email, "password": password}
    _write_secret(engine.store.path / "admin-credentials.json", creds)
    return creds


async def bootstrap_demo(engine: Engine, http_origin: list[str]) -> dict[str, str]:
    """Make the demo site, department and operator if absent; return their ids
    and the demo operator's credentials."""
    secret_file = engine.store.path / "demo-credentials.json"
    stored: dict[str, str] | None = META.get(engine.store, "demo")
    if stored is not None and secret_file.exists():
        demo = stored
        if demo["site"] in engine.directory.sites:
            await engine.directory.add_site_origins(demo["site"], http_origin)
            demo.update(decode(secret_file.read_bytes()))
            return demo
    account_id = min(a.id for a in engine.directory.list_accounts())
    site = await engine.directory.create_site(
        account_id, f"Demo site {ids.random_id(4)}", http_origin
    )
    dept = await engine.directory.create_department(
        account_id, site.id, "Support", "Questions about the demo shop"
    )
    password = ids.random_id(16)
    email = f"demo-{site.id}@parley.local"
    op = await engine.directory.add_operator(
        account_id,
        email=email,
        password=password,
        display_name="Demo operator",
        department_ids=[dept.id],
        max_chats=5,
    )
    demo = {"site": site.id, "department": dept.id, "operator": op.id}
    await engine.store.write_async([META.put("demo", demo)])
    _write_secret(secret_file, {"email": email, "password": password})
    return {**demo, "email": email, "password": password}


class PortInUse(OSError):
    """A port to listen on is taken. SERVICE is "grpc", "http" or "metrics", as
    in the names of the settings (grpc_port, http_port, metrics_port)."""

    def __init__(self, service: str, host: str, port: int) -> None:
        label = {"grpc": "gRPC", "http": "HTTP", "metrics": "metrics"}[service]
        super().__init__(f"cannot listen for {label} on {host}:{port}: the port is in use")
        self.service, self.host, self.port = service, host, port


def check_port_free(service: str, host: str, port: int) -> None:
    """Raise PortInUse if HOST:PORT cannot be bound now, before anything else is
    done: gRPC would only log a line of its own and say it failed. Other bind
    errors are left to the server's own bind, which reports them."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise OSError(f"cannot listen on {host}: {error.strerror}") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # As the servers bind: a port held only by closed connections is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise PortInUse(service, host, port) from None


def tls_credentials(cert: Path, key: Path) -> grpc.ServerCredentials:
    """Server credentials from PEM files, with a clear error when they are unusable."""
    try:
        chain, private = cert.read_bytes(), key.read_bytes()
    except OSError as error:
        raise OSError(f"cannot read the TLS certificate or key: {error}") from None
    if b"-----BEGIN" not in chain or b"PRIVATE KEY-----" not in private:
        raise OSError("the TLS certificate and key must be PEM files")
    return grpc.ssl_server_credentials([(private, chain)])


async def build_grpc_server(
    engine: Engine,
    address: str,
    stream_backlog: int = 100_000,
    credentials: grpc.ServerCredentials | None = None,
    health_servicer: health.aio.HealthServicer | None = None,
) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", 4 * 1024 * 1024),
            ("grpc.max_send_message_length", 16 * 1024 * 1024),
            # Without this a second server binds the same port and takes half
            # the calls instead of failing to start.
            ("grpc.so_reuseport", 0),
        ]
    )
    for name, servicer in services.CONTROL_SERVICES.items():
        add = getattr(control_pb2_grpc, f"add_{name}Servicer_to_server")
        add(servicer(engine), server)
    operator_pb2_grpc.add_OperatorSessionServicer_to_server(
        services.OperatorSessionService(engine, stream_backlog), server
    )
    visitor_pb2_grpc.add_VisitorChannelServicer_to_server(
        services.VisitorChannelService(engine, stream_backlog), server
    )
    health_servicer = health_servicer or health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError as error:  # grpc's way of saying the bind failed
        raise OSError(f"cannot listen for gRPC on {address}: {error}") from None
    if port == 0:
        raise OSError(f"cannot listen for gRPC on {address}")
    return server, port


def _loopback(host: str) -> str:
    """How this process reaches its own gRPC port bound on ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Parley:
    """One process: engine, edge and gRPC."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.engine: Engine | None = None
        self.edge: Edge | None = None
        self.grpc: grpc.aio.Server | None = None
        self.http_port = 0
        self.grpc_port = 0
        self.metrics: MetricsServer | None = None
        self.metrics_port = 0
        self.health = health.aio.HealthServicer()
        self._health_task: asyncio.Task[None] | None = None
        self.owner: dict[str, str] | None = None
        self.admin: dict[str, str] | None = None
        self.demo: dict[str, str] | None = None
        self.link: EdgeLinkService | None = None

    async def start(self) -> None:
        config = self.config
        credentials = None
        if config.tls_cert is not None and config.tls_key is not None:
            credentials = tls_credentials(config.tls_cert, config.tls_key)
        check_port_free("grpc", config.host, config.grpc_port)
        if config.websockets:
            check_port_free("http", config.edge.host, config.edge.port)
        check_port_free("metrics", config.host, config.metrics_port or 0)
        self.engine = engine = Engine(
            config.data_dir,
            delivery=config.delivery,
            map_size=config.map_size_mb << 20,
            max_map_size=(config.max_map_size_mb << 20) or None,
            limits=config.limits,
            idle_seconds=config.idle_seconds,
            clock=config.clock,
            grace_seconds=config.grace_seconds,
            abandon_seconds=config.abandon_seconds,
            password_hasher=config.password_hasher,
            history=config.history,
            backlog=config.message_backlog,
        )
        # Both ports are bound before the owner is written (see the docstring);
        # the gRPC server is bound here and serves from start() below.
        try:
            self.grpc, self.grpc_port = await build_grpc_server(
                engine,
                f"{config.host}:{config.grpc_port}",
                config.stream_backlog,
                credentials,
                self.health,
            )
        except OSError:
            check_port_free("grpc", config.host, config.grpc_port)  # taken since: say so
            raise
        if config.edge_link:
            self.link = add_edge_link(self.grpc, engine, config)
        if config.websockets:
            self.edge = Edge(engine, config.edge)
            try:
                self.http_port = await self.edge.start()
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise PortInUse("http", config.edge.host, config.edge.port) from None
                raise
        if config.metrics_port is not None:
            self.metrics = MetricsServer(metrics_registry(engine, self.edge, self.link))
            try:
                self.metrics_port = await self.metrics.start(config.host, config.metrics_port)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise PortInUse("metrics", config.host, config.metrics_port) from None
                raise
        target = config.edge.console_engine or (
            None if credentials is not None else f"{_loopback(config.host)}:{self.grpc_port}"
        )
        if target is not None and self.edge is not None:  # TLS: console_engine is given
            self.edge.open_bridge(target, unary_methods(RPC_PERMISSIONS))
        self.owner = await bootstrap_owner(engine)
        self.admin = await bootstrap_admin(engine)
        engine.start()
        await self.grpc.start()
        # The demo site's allowed origins name the HTTP port, bound above.
        if config.demo:
            origins = [f"http://127.0.0.1:{self.http_port}", f"http://localhost:{self.http_port}"]
            self.demo = await bootstrap_demo(engine, origins)
            if self.edge is not None:
                self.edge.demo_site = self.demo["site"]
        self._health_task = asyncio.get_running_loop().create_task(self._follow_health())

    async def _follow_health(self) -> None:
        """Keep the gRPC health service in step with the server's health: NOT_SERVING
        while overloaded or stopping (a balancer sends new calls elsewhere),
        SERVING otherwise, degraded included (it still serves)."""
        assert self.engine is not None
        said = ""
        while True:
            state = self.engine.status().health
            if state != said:
                serving = state not in (OVERLOADED, STOPPING)
                for name in ("", *SERVICE_NAMES):
                    await self.health.set(
                        name,
                        health_pb2.HealthCheckResponse.SERVING
                        if serving
                        else health_pb2.HealthCheckResponse.NOT_SERVING,
                    )
                said = state
            await asyncio.sleep(HEALTH_INTERVAL)

    async def stop(self) -> None:
        """Drain, then stop. New streams are refused (``server_stopping``) and
        every open one ends with UNAVAILABLE at once; gRPC takes no new call and
        gives the calls under way a second; the edge takes no new websocket and
        closes each open one with 1001 (going away); the engine's work in hand
        settles and every write lands before the store closes. Every message
        acknowledged before is stored, and each client reconnects and resumes."""
        engine = self.engine
        if self._health_task is not None:
            self._health_task.cancel()
        await self.health.enter_graceful_shutdown()
        if engine is not None:
            engine.stopping = True
            ended = engine.connections.end_streams()
            visitors = engine.connections.visitors
            log.info(
                "draining: %d streams and %d visitor websockets told to reconnect",
                ended,
                visitors,
                extra={"streams": ended, "visitor_websockets": visitors},
            )
        if self.grpc is not None:
            await self.grpc.stop(1.0)
        if self.edge is not None:
            await self.edge.close()
        if self.metrics is not None:
            await self.metrics.close()
        if engine is not None:
            try:
                await engine.settle()
            except TimeoutError:
                log.warning("the engine did not settle in time; stopping with what has landed")
            await engine.close()

    def banner(self) -> str:
        if not self.config.websockets:
            return engine_banner(self)
        host = self.config.host
        lines = ["Parley is running."]
        # Real ids in every line: the demo site's, else the first site's.
        sites = sorted(self.engine.directory.sites) if self.engine is not None else []
        site = self.demo["site"] if self.demo else (sites[0] if sites else "")
        if self.demo:
            lines += [
                f"  Demo page (chat as a visitor): http://{host}:{self.http_port}/",
                f"  Operators' console (answer as the demo operator): "
                f"http://{host}:{self.http_port}/console",
                f"  Demo operator: {self.demo['email']} / {self.demo['password']}",
                f"  Demo site id: {self.demo['site']}  department id: {self.demo['department']}",
            ]
        if not self.demo:
            lines.append(f"  Operators' console: http://{host}:{self.http_port}/console")
        lines += [
            f"  Widget script: http://{host}:{self.http_port}/widget.js",
            f"  Visitor websocket: ws://{host}:{self.http_port}/v1/visitor?site={site}"
            if site
            else f"  Visitor websocket: ws://{host}:{self.http_port}/v1/visitor?site= "
            "(no site yet: parley site create NAME)",
            f"  gRPC{' with TLS' if self.config.tls_cert else ''} "
            f"(control, operator sessions, visitor channel): {host}:{self.grpc_port}",
        ]
        if self.metrics_port:
            lines.append(f"  Metrics (Prometheus): http://{host}:{self.metrics_port}/metrics")
        if self.owner:
            lines.append(
                f"  Owner account created: {self.owner['email']} / {self.owner['password']} "
                f"(also in {self.config.data_dir}/owner-credentials.json)"
            )
        if self.admin:
            lines.append(
                f"  Server administrator created (manages accounts): {self.admin['email']} / "
                f"{self.admin['password']} (also in {self.config.data_dir}/admin-credentials.json)"
            )
        if self.demo:
            lines.append(
                f"  Answer as the operator: .venv/bin/parley login --server "
                f"{host}:{self.grpc_port} --email {self.demo['email']} --password "
                f"{self.demo['password']} && .venv/bin/parley chat"
            )
            lines.append(
                "  Until an operator is online the demo page shows the offline form"
                f" (a message left there: parley ticket list --site {site})."
            )
        return "\n".join(lines)


def add_edge_link(server: grpc.aio.Server, engine: Engine, config: ServeConfig) -> EdgeLinkService:
    """Serve the EdgeLink service (split mode) on ``server``, with the given
    link secret or the data directory's."""
    from edge.link import secret as link_secret
    from parley.link.v1 import link_pb2_grpc

    secret = config.link_secret or link_secret.ensure(config.data_dir)
    service = EdgeLinkService(engine, secret, config.edge.hello_timeout)
    link_pb2_grpc.add_EdgeLinkServicer_to_server(service, server)
    return service


def engine_banner(app: Parley) -> str:
    """What ``parley engine`` prints: where edges attach, and with what."""
    host, port = app.config.host, app.grpc_port
    secret = (
        "the given --link-secret"
        if app.config.link_secret
        else (f"{app.config.data_dir}/link-secret")
    )
    sites = sorted(app.engine.directory.sites) if app.engine is not None else []
    site = app.demo["site"] if app.demo else (sites[0] if sites else "")
    lines = [
        "Parley engine is running (split mode: visitors connect to edges).",
        f"  gRPC (control, operator sessions, visitor channel, edge link): {host}:{port}",
        f"  Link secret: {secret}",
        f"  Start an edge: parley edge --engine {host}:{port} "
        f"--link-secret-file {app.config.data_dir}/link-secret --port 8080",
    ]
    if app.demo:
        lines += [
            f"  Demo operator: {app.demo['email']} / {app.demo['password']}",
            f"  Demo site id: {app.demo['site']}  department id: {app.demo['department']}",
        ]
    elif site:
        lines.append(f"  Site id: {site}")
    if app.owner:
        lines.append(
            f"  Owner account created: {app.owner['email']} / {app.owner['password']} "
            f"(also in {app.config.data_dir}/owner-credentials.json)"
        )
    if app.admin:
        lines.append(
            f"  Server administrator created (manages accounts): {app.admin['email']} / "
            f"{app.admin['password']} (also in {app.config.data_dir}/admin-credentials.json)"
        )
    return "\n".join(lines)


def tune_gc() -> None:
    """Fewer, cheaper collections: what start-up made is kept out of every
    collection from now on, and a young collection runs once 100,000 more
    tracked objects are alive than at the last one (Python's default: 700). A
    message's objects are freed by their counts when it is written and delivered, so the
    young generation is mostly the work in flight: at saturation about 20,000
    objects, 7 ms to walk. At 10,000 the swings of that work alone set off a
    collection every few thousand messages (2-4% of the server's CPU in
    ``bench_e2e``); at 100,000 none ran in its saturated phases. Full
    collections, which walk every live object, are what makes the tail latency."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def raise_fd_limit() -> None:
    """A chat server holds a socket per visitor: take every descriptor allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run(config: ServeConfig) -> None:
    raise_fd_limit()
    app = Parley(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop_on(sig: signal.Signals) -> None:
        log.info("stopping on %s", sig.name, extra={"signal": sig.name})
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_on, sig)
    try:
        await app.start()
        tune_gc()
        sys.stdout.write(app.banner() + "\n")
        sys.stdout.flush()
        log.info(
            "serving: HTTP on %s:%d, gRPC on %s:%d",
            config.edge.host,
            app.http_port,
            config.host,
            app.grpc_port,
            extra={"http_port": app.http_port, "grpc_port": app.grpc_port},
        )
        await stop.wait()
    finally:
        await app.stop()
    log.info("stopped")
