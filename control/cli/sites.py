"""Sites, where the widget runs: create, show, change and list them, choose their
chat languages and set their storage quota.

A site holds the page origins the widget may run on, the time zone its hours are
read in, whether operators see what visitors type, and the widget's look, words
per language and pre-chat form (engine/chat/widget_look.py); everything else of
the account (departments, groups, link rules, blocks) hangs below a site.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from control.cli.common import (
    Ctx,
    fields_table,
    id_list,
    mask,
    pass_ctx,
    require_some,
    set_given,
    site_option,
)
from parley.v1 import control_pb2

MODES = click.Choice(["off", "optional", "required"])


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
    s = ctx.create(
        ctx.client().sites.CreateSite,
        control_pb2.CreateSiteRequest(
            site=control_pb2.Site(
                name=name,
                allowed_origins=list(origins),
                timezone=timezone,
                typing_preview=not no_typing_preview,
            )
        ),
    )
    ctx.out(s, lambda: f"Created site {s.name} with id {s.id}")


@site.command("list")
@pass_ctx
def site_list(ctx: Ctx) -> None:
    """List the account's sites."""
    reply = ctx.list(ctx.client().sites.ListSites, control_pb2.ListSitesRequest(), "sites")
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


def _words(t: control_pb2.WidgetText) -> str:
    given = (("title", t.title), ("greeting", t.greeting), ("offline", t.offline))
    return "; ".join(f"{k}: {v}" for k, v in given if v)


def _quota(s: control_pb2.Site) -> str:
    return f"{s.quota_mb} MiB" if s.quota_mb else "the default"


@site.command("show")
@click.argument("site_id")
@pass_ctx
def site_show(ctx: Ctx, site_id: str) -> None:
    """Show one site's settings."""
    s = ctx.call(ctx.client().sites.GetSite, control_pb2.GetSiteRequest(site_id=site_id))
    ctx.out(
        s,
        lambda: fields_table(
            (
                ("id", s.id),
                ("name", s.name),
                ("allowed origins", " ".join(s.allowed_origins)),
                ("timezone", s.timezone or "UTC"),
                ("typing preview", "on" if s.typing_preview else "off"),
                ("languages", ",".join(s.languages) or "all"),
                ("quota", _quota(s)),
                (
                    "widget",
                    f"{s.widget_color or 'default colour'}, {s.widget_position or 'right'}"
                    f", avatars {'on' if s.widget_avatars else 'off'}",
                ),
                (
                    "pre-chat form",
                    f"name {s.prechat_name}, email {s.prechat_email}, "
                    f"question {s.prechat_question}",
                ),
                *((f"words ({t.language or 'all'})", _words(t)) for t in s.widget_texts),
                ("attachments", _attachment_limits(s)),
            )
        ),
    )


def _attachment_limits(s: control_pb2.Site) -> str:
    largest = f"{s.attachment_max_kb} KiB" if s.attachment_max_kb else "default size"
    space = f"{s.attachment_quota_mb} MiB" if s.attachment_quota_mb else "default space"
    return f"{largest} a file, {space} in all"


@site.command("update")
@click.argument("site_id")
@click.option("--name", help="New name")
@click.option("--origins", help="Allowed page origins, comma-separated ('' for none)")
@click.option("--timezone", help="IANA time zone")
@click.option(
    "--typing-preview/--no-typing-preview",
    default=None,
    help="Whether operators see what visitors type before they send it",
)
@click.option("--transcript-retention-days", type=int, help="Delete closed chats after (1-36500)")
@click.option("--address-retention-days", type=int, help="Truncate visitors' addresses after")
@click.option("--color", help="The widget's brand colour, #rgb or #rrggbb ('' for the default)")
@click.option("--position", type=click.Choice(["right", "left", ""]), help="The widget's side")
@click.option("--avatars/--no-avatars", default=None, help="Show operators' avatars in the widget")
@click.option("--prechat-name", type=MODES, help="The pre-chat form's name field")
@click.option("--prechat-email", type=MODES, help="The pre-chat form's email field")
@click.option("--prechat-question", type=MODES, help="The pre-chat form's question")
@click.option("--lang", default="", help="The language of --title/--greeting/--offline-text")
@click.option("--title", help="The widget's title ('' for the built-in one)")
@click.option("--greeting", help="The widget's greeting")
@click.option("--offline-text", help="What the offline form says")
@click.option(
    "--attachment-max-kb",
    type=click.IntRange(0),
    help="Largest attached file in KiB (0: the default, 10240)",
)
@click.option(
    "--attachment-quota-mb",
    type=click.IntRange(0),
    help="Space for the site's files in MiB (0: default, 1024)",
)
@pass_ctx
def site_update(
    ctx: Ctx,
    site_id: str,
    name: str | None,
    origins: str | None,
    timezone: str | None,
    typing_preview: bool | None,
    transcript_retention_days: int | None,
    address_retention_days: int | None,
    attachment_max_kb: int | None,
    attachment_quota_mb: int | None,
    color: str | None,
    position: str | None,
    avatars: bool | None,
    prechat_name: str | None,
    prechat_email: str | None,
    prechat_question: str | None,
    lang: str,
    title: str | None,
    greeting: str | None,
    offline_text: str | None,
) -> None:
    """Change a site's settings (only the options given): its name, origins,
    time zone, typing preview, retentions, attachment limits, and the widget's
    look, pre-chat form and words (--lang de --title ... sets the German ones;
    without --lang, the words of every language that has none of its own)."""
    s = control_pb2.Site(id=site_id)
    paths = set_given(
        s,
        (
            ("name", name),
            ("allowed_origins", id_list(origins)),
            ("timezone", timezone),
            ("typing_preview", typing_preview),
            ("transcript_retention_days", transcript_retention_days),
            ("address_retention_days", address_retention_days),
            ("attachment_max_kb", attachment_max_kb),
            ("attachment_quota_mb", attachment_quota_mb),
            ("widget_color", color),
            ("widget_position", position),
            ("widget_avatars", avatars),
            ("prechat_name", prechat_name),
            ("prechat_email", prechat_email),
            ("prechat_question", prechat_question),
        ),
    )
    words = {"title": title, "greeting": greeting, "offline": offline_text}
    if any(v is not None for v in words.values()):
        # The texts are one list: read it, change this language's entry, write it.
        current = ctx.call(ctx.client().sites.GetSite, control_pb2.GetSiteRequest(site_id=site_id))
        texts = {t.language: t for t in current.widget_texts}
        entry = control_pb2.WidgetText(language=lang)
        entry.CopyFrom(texts.get(lang, entry))
        for key, value in words.items():
            if value is not None:
                setattr(entry, key, value)
        texts[lang] = entry
        s.widget_texts.extend(t for t in texts.values() if t.title or t.greeting or t.offline)
        paths.append("widget_texts")
    require_some(
        paths,
        "--name, --origins, --timezone, --typing-preview, the retentions, attachment limits "
        "or a widget option",
    )
    _update(ctx, s, paths, lambda u: f"Updated site {u.name} ({u.id})")


def _update(
    ctx: Ctx, s: control_pb2.Site, paths: list[str], human: Callable[[control_pb2.Site], str]
) -> None:
    """Write the fields PATHS of S; print the site as it is then."""
    updated = ctx.call(
        ctx.client().sites.UpdateSite,
        control_pb2.UpdateSiteRequest(site=s, update_mask=mask(paths)),
    )
    ctx.out(updated, lambda: human(updated))


@site.command("quota")
@click.argument("megabytes", type=click.IntRange(0, 1 << 30))
@site_option
@pass_ctx
def site_quota(ctx: Ctx, megabytes: int, site_id: str) -> None:
    """Set the site's storage quota for its messages and offline requests, in MiB
    (0: the server's default, --site-quota-mb). Past it, visitors' new messages
    and requests are refused with quota_exceeded."""
    s = control_pb2.Site(id=site_id, quota_mb=megabytes)
    _update(ctx, s, ["quota_mb"], lambda u: f"Site {u.name}: quota {_quota(u)}")


@click.group()
def language() -> None:
    """Languages chat is enabled for, per site."""


@language.command("set")
@click.argument("languages", nargs=-1)
@site_option
@pass_ctx
def language_set(ctx: Ctx, languages: tuple[str, ...], site_id: str) -> None:
    """Enable chat for LANGUAGES only (codes like en de); none enables every one."""
    s = control_pb2.Site(id=site_id, languages=list(languages))
    _update(
        ctx,
        s,
        ["languages"],
        lambda u: f"Site {u.name}: chat in {', '.join(u.languages) or 'every language'}",
    )


@site.command("delete")
@click.argument("site_id")
@pass_ctx
def site_delete(ctx: Ctx, site_id: str) -> None:
    """Delete a site with no departments left (its groups, link rules and blocks
    go with it)."""
    ctx.call(
        ctx.client().sites.DeleteSite,
        control_pb2.DeleteSiteRequest(site_id=site_id),
    )
    click.echo(f"Deleted site {site_id}")
