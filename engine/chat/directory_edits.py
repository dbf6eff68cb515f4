"""Changing configuration in place: a site's, region's, group's, link rule's,
quick reply's or account's fields, as the API's Update calls name them.

Part of the :class:`~engine.chat.directory.Directory`. Each change builds the
updated record first (a record checks itself when built, so a bad value saves
nothing), checks what the record cannot see alone (a unique name, a group of
the same site), then writes it through to the store.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from engine.chat.records import Account, Department, Group, LinkRule, Region, Site, Template
from engine.errors import AlreadyExists, InvalidArgument, NotFound
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import ACCOUNTS, GROUPS, LINKS, REGIONS, SITES, TEMPLATES, Op

SITE_FIELDS = (
    "name",
    "allowed_origins",
    "timezone",
    "typing_preview",
    "languages",
    "quota_mb",
    "transcript_retention_days",
    "address_retention_days",
    "attachment_max_kb",
    "attachment_quota_mb",
    "widget_color",
    "widget_position",
    "widget_avatars",
    "prechat_name",
    "prechat_email",
    "prechat_question",
    "widget_texts",
)
RETENTION_FIELDS = ("transcript_retention_days", "address_retention_days")
REGION_FIELDS = ("name",)
GROUP_FIELDS = ("name",)
LINK_FIELDS = ("pattern", "group_id", "position")
TEMPLATE_FIELDS = ("shortcut", "text")
ACCOUNT_FIELDS = ("name",)


class Record(Protocol):
    @property
    def id(self) -> str: ...

    def to_doc(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)


class Table(Protocol):
    def put(self, key: str, doc: Any) -> Op: ...


def _check_fields(changes: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise InvalidArgument(
            "invalid_argument", f"no such setting: {', '.join(unknown)}", field=unknown[0]
        )


def _taken(name: str, record_id: str, others: Iterable[Any], what: str) -> None:
    if any(o.name == name and o.id != record_id for o in others):
        raise AlreadyExists("already_exists", f"a {what} named {name!r} exists", field="name")


class DirectoryEdits(ABC):
    """Updates of the directory's records, field by field."""

    store: LmdbStore
    accounts: dict[str, Account]
    sites: dict[str, Site]
    departments: dict[str, Department]
    regions: dict[str, Region]
    groups: dict[str, Group]
    links: dict[str, LinkRule]
    templates: dict[str, Template]

    @abstractmethod
    def site(self, site_id: str, account_id: str | None = None) -> Site: ...

    @abstractmethod
    def region_of_account(self, region_id: str, account_id: str) -> Region: ...

    @abstractmethod
    def group_of_account(self, group_id: str, account_id: str) -> Group: ...

    @abstractmethod
    def account(self, account_id: str) -> Account: ...

    async def _save(self, table: Table, held: dict[str, R], record: R) -> R:
        await self.store.write_async([table.put(record.id, record.to_doc())])
        held[record.id] = record
        return record

    def link(self, link_id: str, account_id: str) -> LinkRule:
        link = self.links.get(link_id)
        if link is None or self.sites[link.site_id].account_id != account_id:
            raise NotFound("unknown_link", f"no link rule {link_id[:40]!r}")
        return link

    async def update_site(self, account_id: str, site_id: str, changes: dict[str, Any]) -> Site:
        _check_fields(changes, SITE_FIELDS)
        site = self.site(site_id, account_id)
        lists = {k: tuple(v) for k, v in changes.items() if k in ("allowed_origins", "languages")}
        updated = dataclasses.replace(site, **{**changes, **lists})
        mine = (s for s in self.sites.values() if s.account_id == account_id)
        _taken(updated.name, site.id, mine, "site")
        return await self._save(SITES, self.sites, updated)

    async def update_region(
        self, account_id: str, region_id: str, changes: dict[str, Any]
    ) -> Region:
        _check_fields(changes, REGION_FIELDS)
        region = self.region_of_account(region_id, account_id)
        updated = dataclasses.replace(region, **changes)
        siblings = (r for r in self.regions.values() if r.department_id == region.department_id)
        _taken(updated.name, region.id, siblings, "region")
        return await self._save(REGIONS, self.regions, updated)

    async def update_group(self, account_id: str, group_id: str, changes: dict[str, Any]) -> Group:
        _check_fields(changes, GROUP_FIELDS)
        group = self.group_of_account(group_id, account_id)
        updated = dataclasses.replace(group, **changes)
        _taken(
            updated.name,
            group.id,
            (g for g in self.groups.values() if g.site_id == group.site_id),
            "group",
        )
        return await self._save(GROUPS, self.groups, updated)

    async def update_link(self, account_id: str, link_id: str, changes: dict[str, Any]) -> LinkRule:
        _check_fields(changes, LINK_FIELDS)
        link = self.link(link_id, account_id)
        updated = dataclasses.replace(link, **changes)
        if self.group_of_account(updated.group_id, account_id).site_id != link.site_id:
            raise InvalidArgument(
                "invalid_argument", "the group belongs to another site", field="group_id"
            )
        return await self._save(LINKS, self.links, updated)

    async def update_template(self, template: Template, changes: dict[str, Any]) -> Template:
        """Change a quick reply the caller may change (checked by the caller)."""
        _check_fields(changes, TEMPLATE_FIELDS)
        if "shortcut" in changes:
            changes = {**changes, "shortcut": str(changes["shortcut"]).strip().lower()}
        updated = dataclasses.replace(template, **changes)
        for other in self.templates.values():
            if (
                other.id != template.id
                and other.account_id == template.account_id
                and other.operator_id == template.operator_id
                and other.shortcut == updated.shortcut
            ):
                raise AlreadyExists(
                    "already_exists",
                    f"a quick reply /{updated.shortcut} exists already",
                    field="shortcut",
                )
        return await self._save(TEMPLATES, self.templates, updated)

    async def update_account(self, account_id: str, changes: dict[str, Any]) -> Account:
        _check_fields(changes, ACCOUNT_FIELDS)
        account = self.account(account_id)
        name = str(changes.get("name", account.name)).strip()
        if not name or len(name) > 100:
            raise InvalidArgument(
                "invalid_argument", "an account needs a name of 1-100 characters", field="name"
            )
        _taken(name, account.id, self.accounts.values(), "account")
        return await self._save(ACCOUNTS, self.accounts, dataclasses.replace(account, name=name))
