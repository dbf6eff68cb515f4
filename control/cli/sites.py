"""Sites, where the widget runs: create and list them, choose their chat languages
and set their storage quota.

A site holds the page origins the widget may run on, the time zone its hours are
read in and whether operators see what visitors type; everything else of the
account (departments, groups, link rules, blocks) hangs below a site.
"""

from __future__ import annotations

import click

from control.cli.common import Ctx, pass_ctx, site_option
from parley.v1 import control_pb2


@click.group()
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
    ctx.out_table(
        reply,
        reply.sites,
        lambda s: (
            s.id,
            s.name,
            s.timezone,
            ",".join(s.languages) or "all",
            " ".join(s.allowed_origins) or "-",
        ),
        ("ID", "NAME", "TIMEZONE", "LANGUAGES", "ALLOWED ORIGINS"),
    )


@site.command("quota")
@click.argument("megabytes", type=click.IntRange(0, 1 << 30))
@site_option
@pass_ctx
def site_quota(ctx: Ctx, megabytes: int, site_id: str) -> None:
    """Set the site's storage quota for its messages and offline requests, in MiB
    (0: the server's default, --site-quota-mb). Past it, visitors' new messages
    and requests are refused with quota_exceeded."""
    s = ctx.call(
        ctx.client().control.SetSiteQuota,
        control_pb2.SetSiteQuotaRequest(site_id=site_id, quota_mb=megabytes),
    )
    ctx.out(
        s, lambda: f"Site {s.name}: quota {f'{s.quota_mb} MiB' if s.quota_mb else 'the default'}"
    )


@click.group()
def language() -> None:
    """Languages chat is enabled for, per site."""


@language.command("set")
@click.argument("languages", nargs=-1)
@site_option
@pass_ctx
def language_set(ctx: Ctx, languages: tuple[str, ...], site_id: str) -> None:
    """Enable chat for LANGUAGES only (codes like en de); none enables every one."""
    s = ctx.call(
        ctx.client().control.SetSiteLanguages,
        control_pb2.SetSiteLanguagesRequest(site_id=site_id, languages=list(languages)),
    )
    ctx.out(s, lambda: f"Site {s.name}: chat in {', '.join(s.languages) or 'every language'}")


@site.command("delete")
@click.argument("site_id")
@pass_ctx
def site_delete(ctx: Ctx, site_id: str) -> None:
    """Delete a site with no departments left (its groups, link rules and blocks
    go with it)."""
    ctx.call(
        ctx.client().control.DeleteSite,
        control_pb2.DeleteSiteRequest(site_id=site_id),
    )
    click.echo(f"Deleted site {site_id}")
