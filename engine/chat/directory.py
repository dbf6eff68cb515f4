"""The directory: accounts, sites, departments and operators.

Configuration is small and read on every connection, so it is held in memory
and written through to LMDB: a change is visible only after its commit (the
caller awaits it). Every lookup that crosses a tenant boundary takes the
account id, so a caller never reaches another account's records.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from argon2 import PasswordHasher

from engine.chat import ids
from engine.chat.directory_edits import DirectoryEdits
from engine.chat.hashing import PASSWORD_HASHER, hash_password
from engine.chat.permissions import BUILTIN_ROLES, SERVER_ROLES, check_role
from engine.chat.records import (
    DEPARTMENT_SETTINGS,
    OPERATOR_SETTINGS,
    Account,
    Block,
    Department,
    Group,
    LinkRule,
    Operator,
    Region,
    Site,
    Template,
    check_languages,
)
from engine.chat.site_lists import SiteLists
from engine.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import (
    ACCOUNTS,
    BLOCKS,
    DEPARTMENTS,
    EMAILS,
    GROUPS,
    LINKS,
    OPERATORS,
    REGIONS,
    ROLES,
    SITES,
    TEMPLATES,
)

# The hidden account holding the server administrator's login: no customer's,
# never listed, suspended or deleted, and its only role manages accounts.
SERVER_ACCOUNT = "server"


def check_unused(what: str, users: dict[str, int]) -> None:
    """Refuse to delete ``what`` while anything uses it (``users``: what uses
    it, how many), naming each and how many; deleting then writes nothing."""
    named = [f"{count} {label}" for label, count in users.items() if count]
    if named:
        raise FailedPrecondition("in_use", f"{what} is still used by {', '.join(named)}")


def email_taken(email: str) -> AlreadyExists:
    """The one refusal for an email in use: login emails are global, so the
    same answer whether the operator holding it is in the caller's account or
    another's, naming neither."""
    return AlreadyExists(
        "already_exists", f"the email {email[:320]!r} is not available", field="email"
    )


class Directory(SiteLists, DirectoryEdits):
    """In-memory view of the configuration, written through to the store."""

    def __init__(self, store: LmdbStore, hasher: PasswordHasher = PASSWORD_HASHER) -> None:
        self.store = store
        self.hasher = hasher
        self.accounts: dict[str, Account] = {}
        self.sites: dict[str, Site] = {}
        self.departments: dict[str, Department] = {}
        self.operators: dict[str, Operator] = {}
        self._by_email: dict[str, str] = {}
        self.regions: dict[str, Region] = {}
        self.groups: dict[str, Group] = {}
        self.links: dict[str, LinkRule] = {}
        self.templates: dict[str, Template] = {}
        self.blocks: dict[str, Block] = {}
        self.roles: dict[str, dict[str, frozenset[str]]] = {}  # account -> custom roles

    def load(self) -> None:
        for doc in ACCOUNTS.all(self.store):
            account = Account(**doc)
            self.accounts[account.id] = account
        for doc in SITES.all(self.store):
            site = Site.from_doc(doc)
            self.sites[site.id] = site
        for doc in DEPARTMENTS.all(self.store):
            dept = Department.from_doc(doc)
            self.departments[dept.id] = dept
        for doc in REGIONS.all(self.store):
            region = Region(**doc)
            self.regions[region.id] = region
        for doc in GROUPS.all(self.store):
            group = Group(**doc)
            self.groups[group.id] = group
        for doc in LINKS.all(self.store):
            link = LinkRule(**doc)
            self.links[link.id] = link
        for doc in BLOCKS.all(self.store):
            block = Block(**doc)
            self.blocks[block.id] = block
        for doc in TEMPLATES.all(self.store):
            template = Template(**doc)
            self.templates[template.id] = template
        for account_id, name, permissions in ROLES.all(self.store):
            self.roles.setdefault(account_id, {})[name] = permissions
        for doc in OPERATORS.all(self.store):
            op = Operator.from_doc(doc)
            self.operators[op.id] = op
            self._by_email[op.email] = op.id

    # -- accounts and sites -----------------------------------------------------

    async def create_account(self, name: str, account_id: str = "") -> Account:
        """A new account (``account_id`` given only for the hidden server account)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidArgument("invalid_argument", "an account needs a name of 1-100 characters")
        if any(a.name == name for a in self.list_accounts()):
            raise AlreadyExists("already_exists", f"an account named {name!r} exists")
        account = Account(id=account_id or "a" + ids.random_id(9), name=name)
        await self.store.write_async([ACCOUNTS.put(account.id, account.to_doc())])
        self.accounts[account.id] = account
        return account

    def account(self, account_id: str) -> Account:
        """A customer account (never the hidden server account)."""
        account = self.accounts.get(account_id)
        if account is None or account.id == SERVER_ACCOUNT:
            raise NotFound("unknown_account", f"no account {account_id[:40]!r}")
        return account

    def list_accounts(self) -> list[Account]:
        """The customer accounts, by name (the server account is not one)."""
        found = (a for a in self.accounts.values() if a.id != SERVER_ACCOUNT)
        return sorted(found, key=lambda a: a.name)

    def suspended(self, account_id: str) -> bool:
        account = self.accounts.get(account_id)
        return account is not None and account.suspended

    async def set_account_suspended(self, account_id: str, suspended: bool) -> Account:
        account = dataclasses.replace(self.account(account_id), suspended=suspended)
        await self.store.write_async([ACCOUNTS.put(account.id, account.to_doc())])
        self.accounts[account.id] = account
        return account

    async def delete_account(self, account_id: str) -> tuple[Account, list[str]]:
        """Delete an account that has no site left (refused with ``in_use``
        otherwise), with its operators, custom roles and quick replies, in one
        write. Returns it and its operators' ids (whose tokens the caller ends)."""
        account = self.account(account_id)
        check_unused(f"account {account.name!r}", {"sites": len(self.list_sites(account.id))})
        ops = self.list_operators(account.id)
        templates = [t.id for t in self.templates.values() if t.account_id == account.id]
        roles = list(self.roles.get(account.id, {}))
        await self.store.write_async(
            [
                *(OPERATORS.delete(o.id) for o in ops),
                *(EMAILS.delete(o.email) for o in ops),
                *(TEMPLATES.delete(t) for t in templates),
                *(ROLES.delete(account.id, r) for r in roles),
                ACCOUNTS.delete(account.id),
            ]
        )
        for op in ops:
            del self.operators[op.id]
            if self._by_email.get(op.email) == op.id:
                del self._by_email[op.email]
        for template_id in templates:
            del self.templates[template_id]
        self.roles.pop(account.id, None)
        del self.accounts[account.id]
        return account, [o.id for o in ops]

    async def create_site(
        self,
        account_id: str,
        name: str,
        allowed_origins: list[str],
        timezone: str = "UTC",
        typing_preview: bool = True,
    ) -> Site:
        if account_id not in self.accounts:
            raise NotFound("unknown_account", f"no account {account_id!r}")
        if any(s.name == name for s in self.sites.values() if s.account_id == account_id):
            raise AlreadyExists(
                "already_exists", f"a site named {name!r} exists already", field="name"
            )
        site = Site(
            id=ids.new_site_id(),
            account_id=account_id,
            name=name,
            allowed_origins=tuple(allowed_origins),
            timezone=timezone or "UTC",
            typing_preview=typing_preview,
        )
        await self.store.write_async([SITES.put(site.id, site.to_doc())])
        self.sites[site.id] = site
        return site

    async def add_site_origins(self, site_id: str, origins: list[str]) -> Site:
        """Allow more origins on a site (the demo site follows its port)."""
        site = self.site(site_id)
        merged = tuple(dict.fromkeys((*site.allowed_origins, *origins)))
        if merged == site.allowed_origins:
            return site
        updated = dataclasses.replace(site, allowed_origins=merged)
        await self.store.write_async([SITES.put(site.id, updated.to_doc())])
        self.sites[site.id] = updated
        return updated

    def site(self, site_id: str, account_id: str | None = None) -> Site:
        site = self.sites.get(site_id)
        if site is None or (account_id is not None and site.account_id != account_id):
            raise NotFound("unknown_site", f"no site {site_id!r}")
        return site

    def list_sites(self, account_id: str) -> list[Site]:
        return sorted(
            (s for s in self.sites.values() if s.account_id == account_id), key=lambda s: s.name
        )

    async def delete_site(self, account_id: str, site_id: str) -> Site:
        """Delete a site that has no departments left; its groups, link rules
        and blocks go with it (in one commit)."""
        site = self.site(site_id, account_id)
        groups = [g.id for g in self.groups.values() if g.site_id == site.id]
        check_unused(
            f"site {site.name!r}",
            {
                "departments": sum(d.site_id == site.id for d in self.departments.values()),
                "operators (in its groups)": sum(
                    any(g in groups for g in o.group_ids) for o in self.operators.values()
                ),
            },
        )
        links = [link.id for link in self.links.values() if link.site_id == site.id]
        blocks = [b.id for b in self.blocks.values() if b.site_id == site.id]
        await self.store.write_async(
            [
                SITES.delete(site.id),
                *(GROUPS.delete(g) for g in groups),
                *(LINKS.delete(x) for x in links),
                *(BLOCKS.delete(b) for b in blocks),
            ]
        )
        del self.sites[site.id]
        for group_id in groups:
            del self.groups[group_id]
        for link_id in links:
            del self.links[link_id]
        for block_id in blocks:
            del self.blocks[block_id]
        return site

    # -- departments ---------------------------------------------------------------

    async def create_department(
        self, account_id: str, site_id: str, name: str, description: str = ""
    ) -> Department:
        self.site(site_id, account_id)
        if any(d.name == name for d in self.departments.values() if d.site_id == site_id):
            raise AlreadyExists(
                "already_exists", f"a department named {name!r} exists already", field="name"
            )
        dept = Department(
            id="d" + ids.random_id(9), site_id=site_id, name=name, description=description
        )
        await self.store.write_async([DEPARTMENTS.put(dept.id, dept.to_doc())])
        self.departments[dept.id] = dept
        return dept

    def department(self, dept_id: str, site_id: str | None = None) -> Department:
        dept = self.departments.get(dept_id)
        if dept is None or (site_id is not None and dept.site_id != site_id):
            raise NotFound("unknown_department", f"no department {dept_id!r} on this site")
        return dept

    def department_of_account(self, dept_id: str, account_id: str) -> Department:
        dept = self.departments.get(dept_id)
        if dept is None or self.sites[dept.site_id].account_id != account_id:
            raise NotFound("unknown_department", f"no department {dept_id!r}")
        return dept

    def list_departments(self, account_id: str, site_id: str) -> list[Department]:
        self.site(site_id, account_id)
        return sorted(
            (d for d in self.departments.values() if d.site_id == site_id), key=lambda d: d.name
        )

    async def update_department(
        self, account_id: str, dept_id: str, changes: dict[str, Any]
    ) -> Department:
        """Change a department's settings; all are validated before anything is
        written (a bad one saves nothing)."""
        dept = self.department_of_account(dept_id, account_id)
        unknown = sorted(set(changes) - set(DEPARTMENT_SETTINGS))
        if unknown:
            raise InvalidArgument("invalid_argument", f"no such setting: {', '.join(unknown)}")
        updated = dataclasses.replace(dept, **changes)
        fallback = updated.fallback_department_id
        if fallback:
            self.department(fallback, dept.site_id)  # same site only
        if updated.name != dept.name and any(
            d.name == updated.name for d in self.departments.values() if d.site_id == dept.site_id
        ):
            raise AlreadyExists("already_exists", f"a department named {updated.name!r} exists")
        await self.store.write_async([DEPARTMENTS.put(dept.id, updated.to_doc())])
        self.departments[dept.id] = updated
        return updated

    async def delete_department(
        self, account_id: str, dept_id: str, open_chats: int
    ) -> tuple[Department, list[str]]:
        """Delete a department with no open or waiting chats (``open_chats``, as
        counted by the caller), no operator serving only it and no department
        falling back to it. Its regions go with it; operators who serve it among
        others leave it (and its regions, and groups on a site they no longer
        serve). One commit; returns the department and the operators changed."""
        dept = self.department_of_account(dept_id, account_id)
        serving = self.department_operators(dept.id)
        check_unused(
            f"department {dept.name!r}",
            {
                "open or waiting chats": open_chats,
                "operators who serve only it": sum(o.department_ids == (dept.id,) for o in serving),
                "departments falling back to it": sum(
                    d.fallback_department_id == dept.id for d in self.departments.values()
                ),
            },
        )
        regions = [r.id for r in self.regions.values() if r.department_id == dept.id]
        changed = []
        for op in serving:
            depts = tuple(d for d in op.department_ids if d != dept.id)
            sites = {dep.site_id for d in depts if (dep := self.departments.get(d)) is not None}
            changed.append(
                dataclasses.replace(
                    op,
                    department_ids=depts,
                    region_ids=tuple(r for r in op.region_ids if r not in regions),
                    group_ids=tuple(
                        g
                        for g in op.group_ids
                        if (group := self.groups.get(g)) is not None and group.site_id in sites
                    ),
                )
            )
        await self.store.write_async(
            [
                DEPARTMENTS.delete(dept.id),
                *(REGIONS.delete(r) for r in regions),
                *(OPERATORS.put(op.id, op.to_doc()) for op in changed),
            ]
        )
        del self.departments[dept.id]
        for region_id in regions:
            del self.regions[region_id]
        for op in changed:
            self.operators[op.id] = op
        return dept, [op.id for op in changed]

    def department_timezone(self, dept: Department) -> str:
        return dept.timezone or self.sites[dept.site_id].timezone

    # -- regions, groups, link rules, languages ---------------------------------------

    async def create_region(self, account_id: str, dept_id: str, name: str) -> Region:
        self.department_of_account(dept_id, account_id)
        if any(r.name == name for r in self.regions.values() if r.department_id == dept_id):
            raise AlreadyExists("already_exists", f"a region named {name!r} exists already")
        region = Region(id="r" + ids.random_id(9), department_id=dept_id, name=name)
        await self.store.write_async([REGIONS.put(region.id, region.to_doc())])
        self.regions[region.id] = region
        return region

    def region(self, region_id: str, dept_id: str | None = None) -> Region:
        region = self.regions.get(region_id)
        if region is None or (dept_id is not None and region.department_id != dept_id):
            raise NotFound("unknown_region", f"no region {region_id[:40]!r} in this department")
        return region

    def region_of_account(self, region_id: str, account_id: str) -> Region:
        region = self.regions.get(region_id)
        dept = self.departments.get(region.department_id) if region is not None else None
        if region is None or dept is None or self.sites[dept.site_id].account_id != account_id:
            raise NotFound("unknown_region", f"no region {region_id[:40]!r}")
        return region

    async def delete_region(self, account_id: str, region_id: str) -> Region:
        """Delete a region no operator belongs to."""
        region = self.region_of_account(region_id, account_id)
        check_unused(
            f"region {region.name!r}",
            {"operators": sum(region.id in o.region_ids for o in self.operators.values())},
        )
        await self.store.write_async([REGIONS.delete(region.id)])
        del self.regions[region.id]
        return region

    def list_regions(self, account_id: str, dept_id: str) -> list[Region]:
        self.department_of_account(dept_id, account_id)
        return sorted(
            (r for r in self.regions.values() if r.department_id == dept_id), key=lambda r: r.name
        )

    async def create_group(self, account_id: str, site_id: str, name: str) -> Group:
        self.site(site_id, account_id)
        if any(g.name == name for g in self.groups.values() if g.site_id == site_id):
            raise AlreadyExists("already_exists", f"a group named {name!r} exists already")
        group = Group(id="g" + ids.random_id(9), site_id=site_id, name=name)
        await self.store.write_async([GROUPS.put(group.id, group.to_doc())])
        self.groups[group.id] = group
        return group

    def group_of_account(self, group_id: str, account_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None or self.sites[group.site_id].account_id != account_id:
            raise NotFound("unknown_group", f"no group {group_id[:40]!r}")
        return group

    async def delete_group(self, account_id: str, group_id: str) -> Group:
        """Delete a group no operator belongs to and no link rule points at."""
        group = self.group_of_account(group_id, account_id)
        check_unused(
            f"group {group.name!r}",
            {
                "operators": sum(group.id in o.group_ids for o in self.operators.values()),
                "link rules": sum(link.group_id == group.id for link in self.links.values()),
            },
        )
        await self.store.write_async([GROUPS.delete(group.id)])
        del self.groups[group.id]
        return group

    def list_groups(self, account_id: str, site_id: str) -> list[Group]:
        self.site(site_id, account_id)
        return sorted(
            (g for g in self.groups.values() if g.site_id == site_id), key=lambda g: g.name
        )

    async def add_link(
        self, account_id: str, site_id: str, pattern: str, group_id: str, position: int
    ) -> LinkRule:
        self.site(site_id, account_id)
        group = self.group_of_account(group_id, account_id)
        if group.site_id != site_id:
            raise InvalidArgument("invalid_argument", "the group belongs to another site")
        link = LinkRule(
            id="l" + ids.random_id(9),
            site_id=site_id,
            pattern=pattern,
            group_id=group_id,
            position=position,
        )
        await self.store.write_async([LINKS.put(link.id, link.to_doc())])
        self.links[link.id] = link
        return link

    async def delete_link(self, account_id: str, link_id: str) -> None:
        link = self.links.get(link_id)
        if link is None or self.sites[link.site_id].account_id != account_id:
            raise NotFound("unknown_link", f"no link rule {link_id[:40]!r}")
        await self.store.write_async([LINKS.delete(link.id)])
        del self.links[link_id]

    def list_links(self, account_id: str, site_id: str) -> list[LinkRule]:
        """The site's link rules in the order they are tried."""
        self.site(site_id, account_id)
        return sorted(
            (link for link in self.links.values() if link.site_id == site_id),
            key=lambda link: (link.position, link.id),
        )

    def group_for_page(self, site_id: str, url: str) -> str:
        """The group of the first link rule matching ``url`` ('' when none does)."""
        if not url:
            return ""
        rules = sorted(
            (link for link in self.links.values() if link.site_id == site_id),
            key=lambda link: (link.position, link.id),
        )
        for link in rules:
            if link.matches(url):
                return link.group_id
        return ""

    async def set_site_languages(self, account_id: str, site_id: str, languages: list[str]) -> Site:
        site = self.site(site_id, account_id)
        updated = dataclasses.replace(site, languages=check_languages(languages))
        await self.store.write_async([SITES.put(site.id, updated.to_doc())])
        self.sites[site.id] = updated
        return updated

    async def set_site_quota(self, account_id: str, site_id: str, quota_mb: int) -> Site:
        """Set a site's storage quota in MiB (0: the server's default)."""
        site = self.site(site_id, account_id)
        updated = dataclasses.replace(site, quota_mb=quota_mb)
        await self.store.write_async([SITES.put(site.id, updated.to_doc())])
        self.sites[site.id] = updated
        return updated

    # -- roles -----------------------------------------------------------------------

    def role_permissions(self, account_id: str, role: str) -> frozenset[str]:
        """What ``role`` may do in the account (nothing for an unknown role)."""
        if account_id == SERVER_ACCOUNT:
            return SERVER_ROLES.get(role, frozenset())
        builtin = BUILTIN_ROLES.get(role)
        if builtin is not None:
            return builtin
        return self.roles.get(account_id, {}).get(role, frozenset())

    def role_exists(self, account_id: str, role: str) -> bool:
        if account_id == SERVER_ACCOUNT:
            return role in SERVER_ROLES
        return role in BUILTIN_ROLES or role in self.roles.get(account_id, {})

    def check_role_exists(self, account_id: str, role: str) -> None:
        if not self.role_exists(account_id, role):
            raise NotFound("unknown_role", f"no role {role[:40]!r} in this account")

    async def update_role(
        self, account_id: str, name: str, permissions: list[str], granter: frozenset[str]
    ) -> frozenset[str]:
        """Replace a custom role's permissions. Nobody edits a role holding what
        they lack, nor grants what they lack; built-in roles stay as they are."""
        if name in BUILTIN_ROLES:
            raise PermissionDenied("permission_denied", f"the built-in {name} role cannot change")
        old = self.roles.get(account_id, {}).get(name)
        if old is None:
            raise NotFound("unknown_role", f"no role {name[:40]!r} in this account")
        perms = check_role(name, permissions)
        beyond = sorted((perms | old) - granter)
        if beyond:
            raise PermissionDenied(
                "permission_denied",
                f"the role holds or would hold what you lack: {beyond}",
                field="permissions",
            )
        await self.store.write_async([ROLES.put(account_id, name, perms)])
        self.roles[account_id][name] = perms
        return perms

    async def delete_role(self, account_id: str, name: str, granter: frozenset[str]) -> None:
        """Delete a custom role nobody holds (and holding nothing the caller
        lacks); the built-in roles stay."""
        if name in BUILTIN_ROLES:
            raise PermissionDenied("permission_denied", f"the built-in {name} role cannot go")
        perms = self.roles.get(account_id, {}).get(name)
        if perms is None:
            raise NotFound("unknown_role", f"no role {name[:40]!r} in this account")
        beyond = sorted(perms - granter)
        if beyond:
            raise PermissionDenied("permission_denied", f"the role holds what you lack: {beyond}")
        check_unused(f"role {name!r}", {"operators": len(self.role_holders(account_id, name))})
        await self.store.write_async([ROLES.delete(account_id, name)])
        del self.roles[account_id][name]

    def role_holders(self, account_id: str, role: str) -> list[str]:
        """The ids of the account's operators holding ``role``."""
        return [
            o.id for o in self.operators.values() if o.account_id == account_id and o.role == role
        ]

    async def create_role(
        self, account_id: str, name: str, permissions: list[str], granter: frozenset[str]
    ) -> frozenset[str]:
        """A custom role; nobody grants a permission they do not hold."""
        perms = check_role(name, permissions)
        beyond = sorted(perms - granter)
        if beyond:
            raise PermissionDenied(
                "permission_denied",
                f"you cannot grant what you lack: {', '.join(beyond)}",
                field="permissions",
            )
        if self.role_exists(account_id, name):
            raise AlreadyExists(
                "already_exists", f"a role named {name!r} exists already", field="name"
            )
        await self.store.write_async([ROLES.put(account_id, name, perms)])
        self.roles.setdefault(account_id, {})[name] = perms
        return perms

    def list_roles(self, account_id: str) -> list[tuple[str, frozenset[str], bool]]:
        """(name, permissions, built in) for every role of the account."""
        out = [(name, perms, True) for name, perms in BUILTIN_ROLES.items()]
        out += sorted((n, p, False) for n, p in self.roles.get(account_id, {}).items())
        return out

    # -- operators -------------------------------------------------------------------

    async def add_operator(
        self,
        account_id: str,
        *,
        email: str,
        password: str,
        display_name: str,
        role: str = "operator",
        department_ids: list[str] | tuple[str, ...] = (),
        max_chats: int = 5,
        password_hash: str = "",
        internal_name: str = "",
    ) -> Operator:
        """A new operator. ``password_hash``, when given, is an argon2id hash
        brought from elsewhere (an import) and used instead of ``password``."""
        email = email.strip().lower()
        if password_hash and not password_hash.startswith("$argon2id$"):
            raise InvalidArgument("invalid_argument", "an imported password must be argon2id")
        if email in self._by_email:
            raise email_taken(email)
        self.check_role_exists(account_id, role)
        for dept_id in department_ids:
            self.department_of_account(dept_id, account_id)
        # Validate everything before the slow hash, so a bad request costs little.
        Operator(
            id="o",
            account_id=account_id,
            email=email,
            display_name=display_name,
            role=role,
            password_hash="",
            department_ids=tuple(department_ids),
            max_chats=max_chats,
            internal_name=internal_name.strip(),
        )
        op = Operator(
            id="o" + ids.random_id(9),
            account_id=account_id,
            email=email,
            display_name=display_name,
            role=role,
            password_hash=password_hash or await hash_password(password, self.hasher),
            department_ids=tuple(dict.fromkeys(department_ids)),
            max_chats=max_chats,
            internal_name=internal_name.strip(),
        )
        if email in self._by_email:  # taken while we hashed
            raise email_taken(email)
        self._by_email[email] = op.id
        try:
            await self.store.write_async(
                [
                    OPERATORS.put(op.id, op.to_doc()),
                    EMAILS.put(email, op.id),
                ]
            )
        except BaseException:
            del self._by_email[email]
            raise
        self.operators[op.id] = op
        return op

    async def update_profile(
        self,
        operator_id: str,
        *,
        display_name: str | None = None,
        avatar_url: str | None = None,
        mail_notifications: list[str] | None = None,
        internal_name: str | None = None,
    ) -> Operator:
        """Change an operator's display name, internal name, avatar and/or the
        emails it asks for (validated by the record)."""
        op = self.operator(operator_id)
        updated = dataclasses.replace(
            op,
            display_name=op.display_name if display_name is None else display_name.strip(),
            avatar_url=op.avatar_url if avatar_url is None else avatar_url.strip(),
            mail_notifications=op.mail_notifications
            if mail_notifications is None
            else tuple(dict.fromkeys(mail_notifications)),
            internal_name=op.internal_name if internal_name is None else internal_name.strip(),
        )
        await self.store.write_async([OPERATORS.put(op.id, updated.to_doc())])
        self.operators[op.id] = updated
        return updated

    async def set_password(self, operator_id: str, password: str) -> Operator:
        """Replace an operator's password (hashed here)."""
        op = self.operator(operator_id)
        updated = dataclasses.replace(op, password_hash=await hash_password(password, self.hasher))
        await self.store.write_async([OPERATORS.put(op.id, updated.to_doc())])
        self.operators[op.id] = updated
        return updated

    async def update_operator(
        self, account_id: str, operator_id: str, changes: dict[str, Any]
    ) -> Operator:
        """Change an operator's routing settings. Departments, regions and groups
        must be the account's; a region must be in one of the operator's
        departments and a group on one of their sites. Validated as a whole
        before the write: a bad request saves nothing."""
        op = self.operator(operator_id, account_id)
        unknown = sorted(set(changes) - set(OPERATOR_SETTINGS))
        if unknown:
            raise InvalidArgument("invalid_argument", f"no such setting: {', '.join(unknown)}")
        if "role" in changes:
            self.check_role_exists(account_id, changes["role"])
        changes = dict(changes)
        for name in ("department_ids", "languages", "region_ids", "group_ids"):
            if name in changes:
                changes[name] = tuple(dict.fromkeys(changes[name]))
        if "internal_name" in changes:
            changes["internal_name"] = str(changes["internal_name"]).strip()
        updated = dataclasses.replace(op, **changes)
        self.check_operator_links(updated)
        await self.store.write_async([OPERATORS.put(op.id, updated.to_doc())])
        self.operators[op.id] = updated
        return updated

    async def delete_operator(self, account_id: str, operator_id: str) -> Operator:
        """Remove an operator's record, its email (free for a new operator from
        now on) and its own quick replies. What it wrote stays in the chats,
        which keep each author's name."""
        op = self.operator(operator_id, account_id)
        own = [t.id for t in self.templates.values() if t.operator_id == op.id]
        await self.store.write_async(
            [
                OPERATORS.delete(op.id),
                EMAILS.delete(op.email),
                *(TEMPLATES.delete(t) for t in own),
            ]
        )
        del self.operators[op.id]
        if self._by_email.get(op.email) == op.id:
            del self._by_email[op.email]
        for template_id in own:
            del self.templates[template_id]
        return op

    def check_operator_links(self, op: Operator) -> None:
        sites = set()
        for dept_id in op.department_ids:
            sites.add(self.department_of_account(dept_id, op.account_id).site_id)
        for region_id in op.region_ids:
            region = self.regions.get(region_id)
            if region is None or region.department_id not in op.department_ids:
                raise InvalidArgument(
                    "invalid_argument",
                    f"region {region_id[:40]!r} is not in one of the operator's departments",
                )
        for group_id in op.group_ids:
            group = self.group_of_account(group_id, op.account_id)
            if group.site_id not in sites:
                raise InvalidArgument(
                    "invalid_argument",
                    f"group {group_id[:40]!r} is on a site none of the operator's "
                    "departments belong to",
                )

    def operator(self, operator_id: str, account_id: str | None = None) -> Operator:
        op = self.operators.get(operator_id)
        if op is None or (account_id is not None and op.account_id != account_id):
            raise NotFound("unknown_operator", f"no operator {operator_id!r}")
        return op

    def operator_by_email(self, email: str) -> Operator | None:
        op_id = self._by_email.get(email.strip().lower())
        return self.operators.get(op_id) if op_id else None

    def list_operators(self, account_id: str) -> list[Operator]:
        return sorted(
            (o for o in self.operators.values() if o.account_id == account_id),
            key=lambda o: o.email,
        )

    def department_operators(self, dept_id: str) -> list[Operator]:
        return [o for o in self.operators.values() if dept_id in o.department_ids]

    def summary(self) -> dict[str, Any]:
        return {
            "accounts": len(self.accounts),
            "sites": len(self.sites),
            "departments": len(self.departments),
            "operators": len(self.operators),
        }
