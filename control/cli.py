"""The ``parley`` command: serve, and the admin groups over the gRPC control plane.

Human tables by default, ``--json`` for scripts. Exit codes: 0 done; 1 the server
refused (the message names the reason code); 2 bad usage; 3 the server cannot
be reached; 4 not logged in.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
import grpc
import orjson
from google.protobuf.json_format import MessageToDict

from control.client import (
    DEFAULT_SERVER,
    Client,
    forget_credentials,
    load_credentials,
    save_credentials,
)
from parley.v1 import common_pb2, control_pb2

EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_NOT_LOGGED_IN = 1, 3, 4


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Ctx:
    def __init__(
        self, server: str | None, token: str | None, as_json: bool, tls_ca: Path | None = None
    ) -> None:
        saved = load_credentials()
        self.server = (
            server or os.environ.get("PARLEY_SERVER") or saved.get("server") or DEFAULT_SERVER
        )
        self.token = token or os.environ.get("PARLEY_TOKEN") or saved.get("token")
        self.as_json = as_json
        env_ca = os.environ.get("PARLEY_TLS_CA")
        self.tls_ca = tls_ca or (Path(env_ca) if env_ca else None)
        self._client: Client | None = None

    def client(self, need_token: bool = True) -> Client:
        if need_token and not self.token:
            fail("not logged in: run 'parley login' or set PARLEY_TOKEN", EXIT_NOT_LOGGED_IN)
        if self._client is None:
            try:
                self._client = Client(self.server, self.token, self.tls_ca)
            except OSError as error:
                fail(f"cannot read the TLS CA file: {error}", EXIT_UNREACHABLE)
        return self._client

    def call(self, method: Callable[..., Any], request: Any, need_token: bool = True) -> Any:
        client = self.client(need_token)
        try:
            return client.call(method, request)
        except grpc.RpcError as error:
            code = error.code()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                fail(
                    f"cannot reach the Parley server at {self.server}: {error.details()}",
                    EXIT_UNREACHABLE,
                )
            details = error.details() or ""
            if (
                code is grpc.StatusCode.UNAUTHENTICATED
                and need_token
                and not details.startswith("bad_credentials")
            ):
                fail(f"{error.details()} (run 'parley login')", EXIT_NOT_LOGGED_IN)
            fail(f"{error.details()} [{code.name}]", EXIT_REFUSED)

    def out(self, message: Any, human: Callable[[], str]) -> None:
        if self.as_json:
            click.echo(
                orjson.dumps(
                    MessageToDict(message, preserving_proto_field_name=True),
                    option=orjson.OPT_INDENT_2,
                ).decode()
            )
        else:
            click.echo(human())


pass_ctx = click.make_pass_decorator(Ctx)


@click.group()
@click.option("--server", help="gRPC address of the Parley server [env PARLEY_SERVER]")
@click.option("--token", help="Session token [env PARLEY_TOKEN]; else the saved login")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables")
@click.option(
    "--tls-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CA certificate (PEM) of a server with TLS [env PARLEY_TLS_CA]",
)
@click.pass_context
def main(
    click_ctx: click.Context,
    server: str | None,
    token: str | None,
    as_json: bool,
    tls_ca: Path | None,
) -> None:
    """Parley: a self-hosted live-chat engine for customer support."""
    click_ctx.obj = Ctx(server, token, as_json, tls_ca)


@main.command()
@click.option("--demo", is_flag=True, help="Create a demo site, department and operator")
@click.option(
    "--data",
    "data_dir",
    default="data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option(
    "--http-port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port for websockets, the widget and pages",
)
@click.option(
    "--grpc-port",
    default=50051,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port for the gRPC services",
)
@click.option(
    "--map-size-mb",
    default=1024,
    show_default=True,
    type=click.IntRange(1),
    help="Largest size of the LMDB store",
)
@click.option(
    "--visitor-rate",
    default=20.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Frames per second a visitor connection may send, sustained",
)
@click.option(
    "--visitor-burst",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Frames a visitor may send at once",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM certificate chain: serve gRPC over TLS",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM private key of --tls-cert",
)
@click.option(
    "--visitor-ip-rate",
    default=500.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Frames per second from one address, all its connections (bursts of twice that)",
)
@click.option(
    "--max-visitors-per-ip",
    default=200,
    show_default=True,
    type=click.IntRange(1),
    help="Visitor connections from one address",
)
@click.option(
    "--grace-seconds",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="An operator whose last session dropped is offline after this",
)
@click.option(
    "--abandon-seconds",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0, 86400),
    help="A waiting visitor gone this long has abandoned the chat",
)
def serve(
    demo: bool,
    data_dir: Path,
    host: str,
    http_port: int,
    grpc_port: int,
    map_size_mb: int,
    visitor_rate: float,
    visitor_burst: float,
    tls_cert: Path | None,
    tls_key: Path | None,
    visitor_ip_rate: float,
    max_visitors_per_ip: int,
    grace_seconds: float,
    abandon_seconds: float,
) -> None:
    """Run engine, edge and gRPC in one process."""
    import logging

    import uvloop

    from control.runner import ServeConfig, run
    from edge.config import EdgeConfig
    from engine.persistence import DataDirLocked

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert and --tls-key go together", 2)
    config = ServeConfig(
        data_dir=data_dir,
        host=host,
        http_port=http_port,
        grpc_port=grpc_port,
        demo=demo,
        map_size_mb=map_size_mb,
        tls_cert=tls_cert,
        tls_key=tls_key,
        grace_seconds=grace_seconds,
        abandon_seconds=abandon_seconds,
        edge=EdgeConfig(
            host=host,
            port=http_port,
            visitor_rate=visitor_rate,
            visitor_burst=visitor_burst,
            max_per_ip=max_visitors_per_ip,
            ip_rate=visitor_ip_rate,
            ip_burst=2 * visitor_ip_rate,
        ),
    )
    try:
        uvloop.run(run(config))
    except DataDirLocked as error:
        fail(str(error), EXIT_REFUSED)
    except OSError as error:
        fail(f"cannot start: {error}", EXIT_REFUSED)


@main.command()
@click.option("--email", required=True, help="Your login email")
@click.option("--password", help="Your password [env PARLEY_PASSWORD]; asked if absent")
@pass_ctx
def login(ctx: Ctx, email: str, password: str | None) -> None:
    """Log in and keep the session token for the next commands."""
    password = password or os.environ.get("PARLEY_PASSWORD") or getpass.getpass("Password: ")
    reply = ctx.call(
        ctx.client(need_token=False).auth.Login,
        control_pb2.LoginRequest(email=email, password=password),
        need_token=False,
    )
    path = save_credentials(ctx.server, reply.token, email)
    ctx.out(
        reply,
        lambda: (
            f"Logged in as {reply.operator.display_name} "
            f"({reply.operator.role}); token saved in {path}"
        ),
    )


@main.command()
@pass_ctx
def logout(ctx: Ctx) -> None:
    """Revoke the saved token and forget it."""
    if ctx.token:
        ctx.call(ctx.client().auth.Logout, common_pb2.Empty())
    forget_credentials()
    click.echo("Logged out.")


@main.command()
@pass_ctx
def whoami(ctx: Ctx) -> None:
    """Show who the token belongs to."""
    op = ctx.call(ctx.client().auth.WhoAmI, common_pb2.Empty())
    ctx.out(op, lambda: f"{op.display_name} <{op.email}> role={op.role} id={op.id}")


@main.group()
def password() -> None:
    """Passwords: your own, and (for admins) other operators'."""


@password.command("change")
@pass_ctx
def password_change(ctx: Ctx) -> None:
    """Change your password; your other sessions are logged out."""
    current = os.environ.get("PARLEY_PASSWORD") or getpass.getpass("Current password: ")
    new = os.environ.get("PARLEY_NEW_PASSWORD") or getpass.getpass("New password: ")
    ctx.call(
        ctx.client().auth.ChangePassword,
        control_pb2.ChangePasswordRequest(current_password=current, new_password=new),
    )
    click.echo("Password changed; your other sessions are logged out.")


@password.command("reset")
@click.argument("operator_id")
@pass_ctx
def password_reset(ctx: Ctx, operator_id: str) -> None:
    """Set another operator's password and log them out everywhere."""
    new = os.environ.get("PARLEY_NEW_PASSWORD") or getpass.getpass("New password: ")
    ctx.call(
        ctx.client().control.ResetPassword,
        control_pb2.ResetPasswordRequest(operator_id=operator_id, new_password=new),
    )
    click.echo(f"Password of {operator_id} reset; their sessions are logged out.")


@main.group()
def session() -> None:
    """Your sessions (logged-in tokens)."""


@session.command("list")
@pass_ctx
def session_list(ctx: Ctx) -> None:
    """List your live sessions."""
    import datetime

    reply = ctx.call(ctx.client().auth.ListMySessions, common_pb2.Empty())

    def when(ms: int) -> str:
        return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime(
            "%Y-%m-%d %H:%M UTC"
        )

    ctx.out(
        reply,
        lambda: table(
            [
                (
                    s.id,
                    s.name or "login",
                    when(s.created_at_ms),
                    when(s.expires_at_ms),
                    "yes" if s.current else "",
                )
                for s in reply.sessions
            ],
            ("ID", "KIND", "CREATED", "EXPIRES", "THIS ONE"),
        ),
    )


@main.group()
def token() -> None:
    """API tokens for scripts (use one as PARLEY_TOKEN)."""


@token.command("create")
@click.argument("name")
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(1, 365),
    help="How long the token lives",
)
@pass_ctx
def token_create(ctx: Ctx, name: str, days: int) -> None:
    """Create a token with your role; it is shown once. Revoke it with
    'parley session revoke ID'."""
    reply = ctx.call(
        ctx.client().auth.CreateApiToken, control_pb2.CreateApiTokenRequest(name=name, days=days)
    )
    ctx.out(reply, lambda: reply.token)


@main.command()
@click.option("--name", "display_name", help="The name visitors see")
@click.option("--avatar", help="An https URL of your picture; '' removes it")
@click.option(
    "--auto-accept/--no-auto-accept", default=None, help="Take chats as they come, or as offers"
)
@pass_ctx
def profile(
    ctx: Ctx, display_name: str | None, avatar: str | None, auto_accept: bool | None
) -> None:
    """Change your display name, avatar and auto-accept."""
    if display_name is None and avatar is None and auto_accept is None:
        fail("give --name, --avatar and/or --auto-accept", 2)
    op = None
    if auto_accept is not None:
        op = ctx.call(
            ctx.client().auth.SetMyAutoAccept,
            control_pb2.SetMyAutoAcceptRequest(auto_accept=auto_accept),
        )
    if display_name is not None:
        op = ctx.call(
            ctx.client().auth.SetDisplayName,
            control_pb2.SetDisplayNameRequest(display_name=display_name),
        )
    if avatar is not None:
        op = ctx.call(ctx.client().auth.SetAvatar, control_pb2.SetAvatarRequest(avatar_url=avatar))
    assert op is not None
    ctx.out(op, lambda: f"{op.display_name} avatar={op.avatar_url or '-'}")


@session.command("revoke")
@click.argument("session_id")
@pass_ctx
def session_revoke(ctx: Ctx, session_id: str) -> None:
    """Log out one of your sessions."""
    ctx.call(
        ctx.client().auth.RevokeMySession, control_pb2.RevokeSessionRequest(session_id=session_id)
    )
    click.echo(f"Session {session_id} revoked.")


# -- sites -----------------------------------------------------------------------


@main.group()
def site() -> None:
    """Sites: where the widget runs."""


@site.command("create")
@click.argument("name")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="Allowed page origin, e.g. https://shop.example (repeatable)",
)
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone")
@click.option(
    "--no-typing-preview",
    is_flag=True,
    help="Operators never see what visitors type before they send it",
)
@pass_ctx
def site_create(
    ctx: Ctx, name: str, origins: tuple[str, ...], timezone: str, no_typing_preview: bool
) -> None:
    """Create a site."""
    s = ctx.call(
        ctx.client().control.CreateSite,
        control_pb2.CreateSiteRequest(
            name=name,
            allowed_origins=list(origins),
            timezone=timezone,
            no_typing_preview=no_typing_preview,
        ),
    )
    ctx.out(s, lambda: f"Created site {s.name} with id {s.id}")


@site.command("list")
@pass_ctx
def site_list(ctx: Ctx) -> None:
    """List the account's sites."""
    reply = ctx.call(ctx.client().control.ListSites, control_pb2.ListSitesRequest())
    ctx.out(
        reply,
        lambda: table(
            [
                (
                    s.id,
                    s.name,
                    s.timezone,
                    ",".join(s.languages) or "all",
                    " ".join(s.allowed_origins) or "-",
                )
                for s in reply.sites
            ],
            ("ID", "NAME", "TIMEZONE", "LANGUAGES", "ALLOWED ORIGINS"),
        ),
    )


# -- departments --------------------------------------------------------------------


@main.group()
def department() -> None:
    """Departments of a site."""


@department.command("create")
@click.argument("name")
@click.option("--site", "site_id", required=True, help="Site id")
@click.option("--description", default="", help="Shown to visitors")
@pass_ctx
def department_create(ctx: Ctx, name: str, site_id: str, description: str) -> None:
    """Create a department."""
    d = ctx.call(
        ctx.client().control.CreateDepartment,
        control_pb2.CreateDepartmentRequest(site_id=site_id, name=name, description=description),
    )
    ctx.out(d, lambda: f"Created department {d.name} with id {d.id}")


@department.command("list")
@click.option("--site", "site_id", required=True, help="Site id")
@pass_ctx
def department_list(ctx: Ctx, site_id: str) -> None:
    """List a site's departments."""
    reply = ctx.call(
        ctx.client().control.ListDepartments, control_pb2.ListDepartmentsRequest(site_id=site_id)
    )
    ctx.out(
        reply,
        lambda: table(
            [
                (
                    d.id,
                    d.name,
                    "on" if d.chat_enabled else "off",
                    d.hours or "always",
                    d.max_wait_seconds or "-",
                    d.fallback_department_id or "-",
                    d.description,
                )
                for d in reply.departments
            ],
            ("ID", "NAME", "CHAT", "HOURS", "MAX WAIT", "FALLBACK", "DESCRIPTION"),
        ),
    )


@department.command("set")
@click.argument("department_id")
@click.option("--name", help="New name")
@click.option("--description", help="Shown to visitors")
@click.option("--chat/--no-chat", "chat_enabled", default=None, help="Chat enabled")
@click.option("--hours", help="Business hours, e.g. 'mon-fri 09:00-17:00' ('' always open)")
@click.option("--timezone", help="IANA time zone of the hours ('' the site's)")
@click.option("--max-wait", type=click.IntRange(0, 86400), help="Seconds in the queue at most")
@click.option("--fallback", help="Department that takes the chat after the maximum wait")
@click.option("--offer-seconds", type=click.IntRange(5, 600), help="Time to accept an offer")
@click.option(
    "--offline-action",
    type=click.Choice(["keep", "forward", "close"]),
    help="An offline operator's open chats: keep, forward or close",
)
@click.option("--offline-seconds", type=click.IntRange(0, 86400), help="... after this long")
@pass_ctx
def department_set(
    ctx: Ctx,
    department_id: str,
    name: str | None,
    description: str | None,
    chat_enabled: bool | None,
    hours: str | None,
    timezone: str | None,
    max_wait: int | None,
    fallback: str | None,
    offer_seconds: int | None,
    offline_action: str | None,
    offline_seconds: int | None,
) -> None:
    """Change a department's settings (only the options given)."""
    request = control_pb2.UpdateDepartmentRequest(department_id=department_id)
    for field_name, value in (
        ("name", name),
        ("description", description),
        ("chat_enabled", chat_enabled),
        ("hours", hours),
        ("timezone", timezone),
        ("max_wait_seconds", max_wait),
        ("fallback_department_id", fallback),
        ("offer_seconds", offer_seconds),
        ("offline_action", offline_action),
        ("offline_seconds", offline_seconds),
    ):
        if value is not None:
            setattr(request, field_name, value)
    d = ctx.call(ctx.client().control.UpdateDepartment, request)
    ctx.out(d, lambda: f"Updated department {d.name} ({d.id})")


@department.command("waiting")
@click.argument("department_id")
@pass_ctx
def department_waiting(ctx: Ctx, department_id: str) -> None:
    """The New pool: chats waiting in a department, in order."""
    reply = ctx.call(
        ctx.client().control.ListWaiting,
        control_pb2.ListWaitingRequest(department_id=department_id),
    )
    ctx.out(
        reply,
        lambda: table(
            [
                (c.position, c.conversation_id, c.visitor_name, c.waited_seconds, c.offered_to)
                for c in reply.chats
            ],
            ("POS", "CONVERSATION", "VISITOR", "WAITED S", "OFFERED TO"),
        ),
    )


@main.group()
def region() -> None:
    """Regions inside a department (operators belong to them)."""


@region.command("create")
@click.argument("name")
@click.option("--department", "department_id", required=True, help="Department id")
@pass_ctx
def region_create(ctx: Ctx, name: str, department_id: str) -> None:
    """Create a region."""
    r = ctx.call(
        ctx.client().control.CreateRegion,
        control_pb2.CreateRegionRequest(department_id=department_id, name=name),
    )
    ctx.out(r, lambda: f"Created region {r.name} with id {r.id}")


@region.command("list")
@click.option("--department", "department_id", required=True, help="Department id")
@pass_ctx
def region_list(ctx: Ctx, department_id: str) -> None:
    """List a department's regions."""
    reply = ctx.call(
        ctx.client().control.ListRegions,
        control_pb2.ListRegionsRequest(department_id=department_id),
    )
    ctx.out(reply, lambda: table([(r.id, r.name) for r in reply.regions], ("ID", "NAME")))


@main.group()
def group() -> None:
    """Groups of specialists, chosen first by link rules."""


@group.command("create")
@click.argument("name")
@click.option("--site", "site_id", required=True, help="Site id")
@pass_ctx
def group_create(ctx: Ctx, name: str, site_id: str) -> None:
    """Create a group."""
    g = ctx.call(
        ctx.client().control.CreateGroup, control_pb2.CreateGroupRequest(site_id=site_id, name=name)
    )
    ctx.out(g, lambda: f"Created group {g.name} with id {g.id}")


@group.command("list")
@click.option("--site", "site_id", required=True, help="Site id")
@pass_ctx
def group_list(ctx: Ctx, site_id: str) -> None:
    """List a site's groups."""
    reply = ctx.call(
        ctx.client().control.ListGroups, control_pb2.ListGroupsRequest(site_id=site_id)
    )
    ctx.out(reply, lambda: table([(g.id, g.name) for g in reply.groups], ("ID", "NAME")))


@main.group()
def link() -> None:
    """Link rules: visitors on matching pages go to a group first."""


@link.command("add")
@click.argument("pattern")
@click.option("--site", "site_id", required=True, help="Site id")
@click.option("--group", "group_id", required=True, help="Group id")
@click.option("--position", default=0, type=click.IntRange(0, 1_000_000), help="Lower first")
@pass_ctx
def link_add(ctx: Ctx, pattern: str, site_id: str, group_id: str, position: int) -> None:
    """Add a rule: PATTERN is a regular expression searched in the page URL."""
    rule = ctx.call(
        ctx.client().control.AddLinkRule,
        control_pb2.AddLinkRuleRequest(
            site_id=site_id, pattern=pattern, group_id=group_id, position=position
        ),
    )
    ctx.out(rule, lambda: f"Added link rule {rule.id}: {rule.pattern} -> {rule.group_id}")


@link.command("list")
@click.option("--site", "site_id", required=True, help="Site id")
@pass_ctx
def link_list(ctx: Ctx, site_id: str) -> None:
    """List a site's link rules in the order they are tried."""
    reply = ctx.call(
        ctx.client().control.ListLinkRules, control_pb2.ListLinkRulesRequest(site_id=site_id)
    )
    ctx.out(
        reply,
        lambda: table(
            [(r.position, r.id, r.pattern, r.group_id) for r in reply.rules],
            ("POS", "ID", "PATTERN", "GROUP"),
        ),
    )


@link.command("delete")
@click.argument("link_id")
@pass_ctx
def link_delete(ctx: Ctx, link_id: str) -> None:
    """Delete a link rule."""
    ctx.call(
        ctx.client().control.DeleteLinkRule, control_pb2.DeleteLinkRuleRequest(link_id=link_id)
    )
    click.echo(f"Deleted link rule {link_id}")


@main.group()
def language() -> None:
    """Languages chat is enabled for, per site."""


@language.command("set")
@click.argument("languages", nargs=-1)
@click.option("--site", "site_id", required=True, help="Site id")
@pass_ctx
def language_set(ctx: Ctx, languages: tuple[str, ...], site_id: str) -> None:
    """Enable chat for LANGUAGES only (codes like en de); none enables every one."""
    s = ctx.call(
        ctx.client().control.SetSiteLanguages,
        control_pb2.SetSiteLanguagesRequest(site_id=site_id, languages=list(languages)),
    )
    ctx.out(s, lambda: f"Site {s.name}: chat in {', '.join(s.languages) or 'every language'}")


@main.group()
def ticket() -> None:
    """Offline requests visitors left when nobody could chat."""


@ticket.command("list")
@click.option("--site", "site_id", required=True, help="Site id")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@pass_ctx
def ticket_list(ctx: Ctx, site_id: str, limit: int) -> None:
    """List a site's offline requests, newest first."""
    reply = ctx.call(
        ctx.client().control.ListTickets,
        control_pb2.ListTicketsRequest(site_id=site_id, limit=limit),
    )
    ctx.out(
        reply,
        lambda: table(
            [(t.id, t.name, t.email, t.department_id or "-", t.text[:60]) for t in reply.tickets],
            ("ID", "NAME", "EMAIL", "DEPARTMENT", "MESSAGE"),
        ),
    )


@main.group()
def template() -> None:
    """Quick replies: the account's (shared) and your own."""


@template.command("add")
@click.argument("shortcut")
@click.argument("text")
@click.option("--shared", is_flag=True, help="For every operator of the account")
@pass_ctx
def template_add(ctx: Ctx, shortcut: str, text: str, shared: bool) -> None:
    """Add a quick reply; TEXT may use {visitor_name}, {operator_name},
    {site_name} and {department_name}."""
    t = ctx.call(
        ctx.client().control.AddTemplate,
        control_pb2.AddTemplateRequest(shortcut=shortcut, text=text, shared=shared),
    )
    ctx.out(t, lambda: f"Added /{t.shortcut} with id {t.id}")


@template.command("list")
@click.argument("prefix", default="")
@click.option("--conversation", "conversation_id", default="", help="Fill in its variables")
@pass_ctx
def template_list(ctx: Ctx, prefix: str, conversation_id: str) -> None:
    """The quick replies you can use, whose shortcut starts with PREFIX."""
    reply = ctx.call(
        ctx.client().control.ListTemplates,
        control_pb2.ListTemplatesRequest(prefix=prefix, conversation_id=conversation_id),
    )
    ctx.out(
        reply,
        lambda: table(
            [
                (
                    t.id,
                    "/" + t.shortcut,
                    "mine" if t.operator_id else "shared",
                    t.rendered or t.text,
                )
                for t in reply.templates
            ],
            ("ID", "SHORTCUT", "OWNER", "TEXT"),
        ),
    )


@template.command("delete")
@click.argument("template_id")
@pass_ctx
def template_delete(ctx: Ctx, template_id: str) -> None:
    """Delete a quick reply (a shared one needs manage_templates)."""
    request = control_pb2.DeleteTemplateRequest(template_id=template_id)
    ctx.call(ctx.client().control.DeleteTemplate, request)
    click.echo(f"Deleted quick reply {template_id}")


@main.command()
@click.option("--site", "site_id", required=True, help="Site id")
@pass_ctx
def stats(ctx: Ctx, site_id: str) -> None:
    """Live numbers per department: waiting, active, on hold, missed, online."""
    reply = ctx.call(
        ctx.client().control.GetStatistics, control_pb2.GetStatisticsRequest(site_id=site_id)
    )
    ctx.out(
        reply,
        lambda: table(
            [
                (
                    d.name,
                    d.waiting,
                    d.active,
                    d.on_hold,
                    d.missed,
                    d.operators_online,
                    f"{d.first_response_ms / 1000:.1f} s" if d.first_response_ms else "-",
                )
                for d in reply.departments
            ],
            ("DEPARTMENT", "WAITING", "ACTIVE", "ON HOLD", "MISSED", "ONLINE", "1ST RESPONSE"),
        ),
    )


@main.command()
@pass_ctx
def usage(ctx: Ctx) -> None:
    """What the account uses."""
    u = ctx.call(ctx.client().control.GetUsage, common_pb2.Empty())
    ctx.out(
        u,
        lambda: table(
            [(u.sites, u.departments, u.operators, u.conversations, u.messages, u.store_bytes)],
            ("SITES", "DEPARTMENTS", "OPERATORS", "CONVERSATIONS", "MESSAGES", "STORE BYTES"),
        ),
    )


@main.group()
def block() -> None:
    """The blacklist: addresses, networks or visitors kept from chatting."""


@block.command("add")
@click.option("--site", "site_id", required=True, help="Site id")
@click.option("--ip", help="An address or network (CIDR)")
@click.option("--visitor", "visitor_id", help="A visitor id")
@click.option("--reason", default="", help="Why (for colleagues)")
@click.option("--hours", default=0, type=click.IntRange(0, 8784), help="Expires after; 0 never")
@pass_ctx
def block_add(
    ctx: Ctx, site_id: str, ip: str | None, visitor_id: str | None, reason: str, hours: int
) -> None:
    """Block an address, a network or a visitor on a site."""
    if (ip is None) == (visitor_id is None):
        fail("give --ip or --visitor", 2)
    request = control_pb2.AddBlockRequest(
        site_id=site_id, reason=reason, expires_in_seconds=hours * 3600
    )
    if ip is not None:
        request.ip = ip
    else:
        request.visitor_id = visitor_id or ""
    b = ctx.call(ctx.client().control.AddBlock, request)
    ctx.out(b, lambda: f"Blocked {b.kind} {b.value} with id {b.id}")


@block.command("list")
@click.option("--site", "site_id", required=True, help="Site id")
@pass_ctx
def block_list(ctx: Ctx, site_id: str) -> None:
    """A site's blacklist."""
    reply = ctx.call(
        ctx.client().control.ListBlocks, control_pb2.ListBlocksRequest(site_id=site_id)
    )
    ctx.out(
        reply,
        lambda: table(
            [(b.id, b.kind, b.value, b.reason or "-") for b in reply.blocks],
            ("ID", "KIND", "VALUE", "REASON"),
        ),
    )


@block.command("remove")
@click.argument("block_id")
@pass_ctx
def block_remove(ctx: Ctx, block_id: str) -> None:
    """Lift a block."""
    ctx.call(ctx.client().control.RemoveBlock, control_pb2.RemoveBlockRequest(block_id=block_id))
    click.echo(f"Removed block {block_id}")


# -- operators ----------------------------------------------------------------------


@main.group()
def operator() -> None:
    """Operators (people who answer chats)."""


@operator.command("add")
@click.option("--email", required=True, help="Login email")
@click.option("--name", "display_name", required=True, help="Name shown to visitors")
@click.option("--password", help="Initial password [env PARLEY_NEW_PASSWORD]; asked if absent")
@click.option(
    "--role",
    default="operator",
    show_default=True,
    help="owner, admin, operator, or a custom role (parley role list)",
)
@click.option("--department", "departments", multiple=True, help="Department id (repeatable)")
@click.option(
    "--max-chats", default=5, show_default=True, type=click.IntRange(0, 1000), help="Chats at once"
)
@pass_ctx
def operator_add(
    ctx: Ctx,
    email: str,
    display_name: str,
    password: str | None,
    role: str,
    departments: tuple[str, ...],
    max_chats: int,
) -> None:
    """Add an operator."""
    password = (
        password or os.environ.get("PARLEY_NEW_PASSWORD") or getpass.getpass("Initial password: ")
    )
    op = ctx.call(
        ctx.client().control.AddOperator,
        control_pb2.AddOperatorRequest(
            email=email,
            password=password,
            display_name=display_name,
            role=role,
            department_ids=list(departments),
            max_chats=max_chats,
        ),
    )
    ctx.out(op, lambda: f"Added operator {op.display_name} <{op.email}> with id {op.id}")


@operator.command("list")
@pass_ctx
def operator_list(ctx: Ctx) -> None:
    """List the account's operators and whether they are online."""
    reply = ctx.call(ctx.client().control.ListOperators, control_pb2.ListOperatorsRequest())
    ctx.out(
        reply,
        lambda: table(
            [
                (
                    o.id,
                    o.email,
                    o.display_name,
                    o.role,
                    o.max_chats,
                    o.status or "offline",
                    ",".join(o.department_ids) or "-",
                    ",".join(o.languages) or "any",
                )
                for o in reply.operators
            ],
            ("ID", "EMAIL", "NAME", "ROLE", "MAX", "STATUS", "DEPARTMENTS", "LANGUAGES"),
        ),
    )


def _id_list(value: str | None) -> control_pb2.StringList | None:
    """A comma-separated option: None when not given, '' clears the list."""
    if value is None:
        return None
    return control_pb2.StringList(values=[v.strip() for v in value.split(",") if v.strip()])


@operator.command("set")
@click.argument("operator_id")
@click.option("--max-chats", type=click.IntRange(0, 1000), help="Chats at once")
@click.option("--departments", help="Department ids, comma-separated ('' for none)")
@click.option("--languages", help="Language codes spoken, e.g. en,de ('' takes any)")
@click.option("--regions", help="Region ids, comma-separated")
@click.option("--groups", help="Group ids, comma-separated")
@click.option("--schedule", help="Reception hours, e.g. 'mon-fri 09:00-17:00' ('' any time)")
@click.option("--timezone", help="IANA time zone of the schedule")
@click.option(
    "--auto-distribution/--no-auto-distribution", default=None, help="Receives queued chats"
)
@click.option("--auto-accept/--no-auto-accept", default=None, help="Else chats come as offers")
@pass_ctx
def operator_set(
    ctx: Ctx,
    operator_id: str,
    max_chats: int | None,
    departments: str | None,
    languages: str | None,
    regions: str | None,
    groups: str | None,
    schedule: str | None,
    timezone: str | None,
    auto_distribution: bool | None,
    auto_accept: bool | None,
) -> None:
    """Change an operator's routing settings (only the options given)."""
    request = control_pb2.UpdateOperatorRequest(operator_id=operator_id)
    for name, value in (
        ("max_chats", max_chats),
        ("schedule", schedule),
        ("timezone", timezone),
        ("auto_distribution", auto_distribution),
        ("auto_accept", auto_accept),
    ):
        if value is not None:
            setattr(request, name, value)
    for name, raw in (
        ("department_ids", departments),
        ("languages", languages),
        ("region_ids", regions),
        ("group_ids", groups),
    ):
        values = _id_list(raw)
        if values is not None:
            getattr(request, name).CopyFrom(values)
    op = ctx.call(ctx.client().control.UpdateOperator, request)
    ctx.out(op, lambda: f"Updated operator {op.display_name} ({op.id})")


# -- roles ----------------------------------------------------------------------------


@main.group()
def role() -> None:
    """Roles: built-in (owner, admin, operator) and the account's own."""


@role.command("create")
@click.argument("name")
@click.option(
    "--permission",
    "perms",
    multiple=True,
    required=True,
    help="A permission the role holds (repeatable; parley role list shows them)",
)
@pass_ctx
def role_create(ctx: Ctx, name: str, perms: tuple[str, ...]) -> None:
    """Create a custom role, e.g. a trainee who may chat only."""
    r = ctx.call(
        ctx.client().control.CreateRole,
        control_pb2.CreateRoleRequest(name=name, permissions=list(perms)),
    )
    ctx.out(r, lambda: f"Created role {r.name}: {', '.join(r.permissions)}")


@role.command("list")
@pass_ctx
def role_list(ctx: Ctx) -> None:
    """List roles and their permissions."""
    reply = ctx.call(ctx.client().control.ListRoles, common_pb2.Empty())
    ctx.out(
        reply,
        lambda: table(
            [
                (r.name, "built in" if r.builtin else "custom", " ".join(r.permissions))
                for r in reply.roles
            ],
            ("ROLE", "KIND", "PERMISSIONS"),
        ),
    )


# -- history --------------------------------------------------------------------------


@main.command()
@click.argument("conversation_id")
@click.option("--after", default=0, type=click.IntRange(0), help="Only messages after this seq")
@pass_ctx
def transcript(ctx: Ctx, conversation_id: str, after: int) -> None:
    """Print a conversation's stored messages."""
    reply = ctx.call(
        ctx.client().control.GetTranscript,
        control_pb2.GetTranscriptRequest(conversation_id=conversation_id, after_seq=after),
    )
    kinds = {1: "visitor", 2: "operator", 3: "system"}
    ctx.out(
        reply,
        lambda: table(
            [
                (m.seq, kinds.get(m.author_kind, "?"), m.author_name or "-", m.text)
                for m in reply.messages
            ],
            ("SEQ", "FROM", "NAME", "TEXT"),
        ),
    )


# -- a terminal operator console ---------------------------------------------------


@main.command()
@pass_ctx
def chat(ctx: Ctx) -> None:
    """Answer chats from the terminal, as the logged-in operator.

    Incoming messages are printed as they arrive. A typed line goes to the
    conversation that spoke last; "/to CONVERSATION_ID" switches, "/close" closes
    the current one, "/status online|away|offline" sets your status, "/accept"
    and "/decline" answer the last offer, "/pick CONVERSATION_ID" takes a waiting
    chat, "/note TEXT" whispers to the chat's operators, "/q SHORTCUT" sends a
    quick reply filled in for the chat, "/quit" (or end of input) leaves.
    """
    import itertools
    import queue
    import threading

    from parley.v1 import operator_pb2, operator_pb2_grpc

    client = ctx.client()
    outbox: queue.Queue[Any] = queue.Queue()
    outbox.put([operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())])
    current: list[str] = [""]
    offered: list[str] = [""]
    ids = itertools.count(1)
    prefix = os.urandom(4).hex()

    def commands() -> Any:
        while (batch := outbox.get()) is not None:
            yield operator_pb2.OperatorCommandBatch(commands=batch)

    stub = operator_pb2_grpc.OperatorSessionStub(client.channel)
    call = stub.Connect(commands(), metadata=client.metadata())

    def read_input() -> None:
        for raw in sys.stdin:
            line = raw.strip()
            if not line:
                continue
            if line == "/quit":
                break
            command = _console_command(line, offered[0])
            if command is not None:
                outbox.put([command])
            elif line.startswith("/to "):
                current[0] = line[4:].strip()
                click.echo(f"-- now writing to {current[0]}")
            elif line.startswith("/note ") and current[0]:
                outbox.put(
                    [
                        operator_pb2.OperatorCommand(
                            whisper=operator_pb2.OperatorSend(
                                conversation_id=current[0],
                                client_msg_id=f"{prefix}-{next(ids)}",
                                text=line[6:].strip(),
                            )
                        )
                    ]
                )
            elif line.startswith("/q ") and current[0]:
                text = _quick_reply(client, line[3:].strip(), current[0])
                if text is None:
                    click.echo("-- no quick reply by that shortcut")
                    continue
                outbox.put(
                    [
                        operator_pb2.OperatorCommand(
                            send=operator_pb2.OperatorSend(
                                conversation_id=current[0],
                                client_msg_id=f"{prefix}-{next(ids)}",
                                text=text,
                            )
                        )
                    ]
                )
            elif line.startswith("/") and line != "/close":
                click.echo("-- unknown command, or no offer to answer")
            elif not current[0]:
                click.echo("-- no conversation yet; wait for a visitor or use /to ID")
            elif line == "/close":
                outbox.put(
                    [
                        operator_pb2.OperatorCommand(
                            close=operator_pb2.CloseConversation(conversation_id=current[0])
                        )
                    ]
                )
            else:
                outbox.put(
                    [
                        operator_pb2.OperatorCommand(
                            send=operator_pb2.OperatorSend(
                                conversation_id=current[0],
                                client_msg_id=f"{prefix}-{next(ids)}",
                                text=line,
                            )
                        )
                    ]
                )
        outbox.put(None)
        call.cancel()

    threading.Thread(target=read_input, daemon=True).start()
    try:
        for batch in call:
            for event in batch.events:
                which = event.WhichOneof("event")
                if which == "ready":
                    click.echo(f"-- signed in as {event.ready.display_name}; waiting for chats")
                elif which == "assigned":
                    a = event.assigned
                    current[0] = a.conversation_id
                    click.echo(f"-- chat {a.conversation_id} with {a.visitor_name}")
                elif which == "message":
                    m = event.message
                    if m.author_kind == 1:
                        current[0] = m.conversation_id
                    who = {1: m.author_name or "visitor", 2: m.author_name, 3: "*"}.get(
                        m.author_kind, "?"
                    )
                    click.echo(f"[{m.conversation_id} #{m.seq}] {who}: {m.text}")
                elif which == "closed":
                    click.echo(f"-- chat {event.closed.conversation_id} closed")
                elif which == "offered":
                    o = event.offered
                    offered[0] = o.conversation_id
                    click.echo(
                        f"-- offer: chat {o.conversation_id} with {o.visitor_name}; "
                        f"/accept or /decline within {o.expires_in_seconds} s"
                    )
                elif which == "withdrawn":
                    w = event.withdrawn
                    if offered[0] == w.conversation_id:
                        offered[0] = ""
                    click.echo(f"-- offer of {w.conversation_id} gone ({w.reason})")
                elif which == "presence":
                    p = event.presence
                    click.echo(f"-- {p.display_name} is {p.status}")
                elif which == "error":
                    click.echo(f"-- refused: {event.error.code}: {event.error.message}")
    except grpc.RpcError as error:
        if error.code() is not grpc.StatusCode.CANCELLED:
            fail(
                f"{error.details()} [{error.code().name}]",
                EXIT_UNREACHABLE if error.code() is grpc.StatusCode.UNAVAILABLE else EXIT_REFUSED,
            )


def _quick_reply(client: Client, shortcut: str, conversation_id: str) -> str | None:
    """The quick reply SHORTCUT (or the only one it begins), filled in for the chat."""
    try:
        reply = client.call(
            client.control.ListTemplates,
            control_pb2.ListTemplatesRequest(
                prefix=shortcut.lstrip("/"), conversation_id=conversation_id
            ),
        )
    except grpc.RpcError:
        return None
    exact = [t for t in reply.templates if t.shortcut == shortcut.lstrip("/")]
    chosen = exact or (list(reply.templates) if len(reply.templates) == 1 else [])
    return chosen[0].rendered if chosen else None


def _console_command(line: str, offered: str) -> Any:
    """The operator command for a console line starting with "/", if it is one."""
    from parley.v1 import operator_pb2

    word, _, rest = line.partition(" ")
    rest = rest.strip()
    if word == "/status" and rest:
        return operator_pb2.OperatorCommand(status=operator_pb2.SetStatus(status=rest))
    if word in ("/accept", "/decline") and (rest or offered):
        return operator_pb2.OperatorCommand(
            answer=operator_pb2.OfferAnswer(
                conversation_id=rest or offered, accept=word == "/accept"
            )
        )
    if word == "/pick" and rest:
        return operator_pb2.OperatorCommand(
            pick=operator_pb2.PickConversation(conversation_id=rest)
        )
    return None


if __name__ == "__main__":
    main()
