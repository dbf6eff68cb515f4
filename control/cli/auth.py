"""Who you are to the server: log in and out, passwords, sessions, API tokens, profile.

``login`` is the one command that calls without a token; it saves the token it
gets for the next commands, and ``logout`` revokes and forgets it. The rest act
on the logged-in operator's own account (``password reset`` on another's, for
admins).
"""

from __future__ import annotations

from pathlib import Path

import click

from control.cli.common import EXIT_USAGE, Ctx, fail, mask, pass_ctx, set_given, when
from control.cli.passwords import Secret, secret_options, secrets
from control.client import forget_credentials, save_credentials
from parley.v1 import control_pb2


@click.command()
@click.option("--email", required=True, help="Your login email")
@secret_options("the password", plain=True)
@pass_ctx
def login(
    ctx: Ctx, email: str, password: str | None, password_stdin: bool, password_file: Path | None
) -> None:
    """Log in and keep the session token for the next commands.

    The password comes from --password, --password-stdin, --password-file or
    the environment variable PARLEY_PASSWORD; else it is asked on the terminal."""
    (password,) = secrets(
        [Secret("Password: ", "PARLEY_PASSWORD")],
        from_stdin=password_stdin,
        from_file=password_file,
        given=password,
    )
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


@click.command()
@pass_ctx
def logout(ctx: Ctx) -> None:
    """Revoke the saved token and forget it."""
    if ctx.token:
        ctx.call(ctx.client().auth.Logout, control_pb2.LogoutRequest())
    forget_credentials()
    click.echo("Logged out.")


@click.command()
@pass_ctx
def whoami(ctx: Ctx) -> None:
    """Show who the token belongs to."""
    op = ctx.call(ctx.client().auth.GetMe, control_pb2.GetMeRequest())
    ctx.out(op, lambda: f"{op.display_name} <{op.email}> role={op.role} id={op.id}")


@click.group()
def password() -> None:
    """Passwords: your own, and (for admins) other operators'."""


@password.command("change")
@secret_options("both passwords (the current one, then the new one: one per line)")
@pass_ctx
def password_change(ctx: Ctx, password_stdin: bool, password_file: Path | None) -> None:
    """Change your password; your other sessions are logged out.

    Both passwords come from --password-stdin or --password-file (the current one
    on the first line, the new one on the second), or the environment variables
    PARLEY_PASSWORD (current) and PARLEY_NEW_PASSWORD (new); else they are asked
    on the terminal."""
    current, new = secrets(
        [
            Secret("Current password: ", "PARLEY_PASSWORD"),
            Secret("New password: ", "PARLEY_NEW_PASSWORD", new=True),
        ],
        from_stdin=password_stdin,
        from_file=password_file,
    )
    ctx.call(
        ctx.client().auth.ChangePassword,
        control_pb2.ChangePasswordRequest(current_password=current, new_password=new),
    )
    click.echo("Password changed; your other sessions are logged out.")


@password.command("reset")
@click.argument("operator_id")
@secret_options("the new password")
@pass_ctx
def password_reset(
    ctx: Ctx, operator_id: str, password_stdin: bool, password_file: Path | None
) -> None:
    """Set another operator's password and log them out everywhere.

    The new password comes from --password-stdin, --password-file or the
    environment variable PARLEY_NEW_PASSWORD; else it is asked on the terminal."""
    (new,) = secrets(
        [Secret("New password: ", "PARLEY_NEW_PASSWORD", new=True)],
        from_stdin=password_stdin,
        from_file=password_file,
    )
    ctx.call(
        ctx.client().operators.ResetPassword,
        control_pb2.ResetPasswordRequest(operator_id=operator_id, new_password=new),
    )
    click.echo(f"Password of {operator_id} reset; their sessions are logged out.")


@click.group()
def session() -> None:
    """Your sessions (logged-in tokens)."""


@session.command("list")
@pass_ctx
def session_list(ctx: Ctx) -> None:
    """List your live sessions."""
    reply = ctx.list(ctx.client().auth.ListSessions, control_pb2.ListSessionsRequest(), "sessions")
    ctx.out_table(
        reply,
        reply.sessions,
        lambda s: (
            s.id,
            s.name or "login",
            when(s.created_at_ms),
            when(s.expires_at_ms),
            "yes" if s.current else "",
        ),
        ("ID", "KIND", "CREATED", "EXPIRES", "THIS ONE"),
    )


@session.command("revoke")
@click.argument("session_id")
@pass_ctx
def session_revoke(ctx: Ctx, session_id: str) -> None:
    """Log out one of your sessions."""
    ctx.call(
        ctx.client().auth.DeleteSession, control_pb2.DeleteSessionRequest(session_id=session_id)
    )
    click.echo(f"Session {session_id} revoked.")


@click.group()
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


@click.command()
@click.option("--name", "display_name", help="The name visitors see")
@click.option("--avatar", help="An https URL of your picture; '' removes it")
@click.option(
    "--auto-accept/--no-auto-accept", default=None, help="Take chats as they come, or as offers"
)
@click.option(
    "--mail-notify",
    "notify",
    multiple=True,
    type=click.Choice(["tickets", "missed", "daily", "none"]),
    help="Emails you want: new tickets, missed chats, the daily report (repeat; none: no email)",
)
@click.option(
    "--timezone",
    help="Your IANA time zone, e.g. Europe/Paris: your day for the daily report "
    "('' : your first department's site's)",
)
@pass_ctx
def profile(
    ctx: Ctx,
    display_name: str | None,
    avatar: str | None,
    auto_accept: bool | None,
    notify: tuple[str, ...],
    timezone: str | None,
) -> None:
    """Change your display name, avatar, auto-accept, timezone and the emails you get."""
    me = control_pb2.Operator()
    topics = [t for t in notify if t != "none"] if notify else None
    paths = set_given(
        me,
        (
            ("display_name", display_name),
            ("avatar_url", avatar),
            ("auto_accept", auto_accept),
            ("mail_notifications", topics),
            ("timezone", timezone),
        ),
    )
    if not paths:
        fail("give --name, --avatar, --auto-accept, --mail-notify and/or --timezone", EXIT_USAGE)
    op = ctx.call(
        ctx.client().auth.UpdateMe,
        control_pb2.UpdateMeRequest(operator=me, update_mask=mask(paths)),
    )
    ctx.out(
        op,
        lambda: (
            f"{op.display_name} avatar={op.avatar_url or '-'} "
            f"timezone={op.timezone or '-'} mail={','.join(op.mail_notifications) or '-'}"
        ),
    )
