"""The lists an account keeps for its sites and operators: the blacklist (refused
addresses, networks and visitors, expiring) and the quick replies (the account's
and each operator's own). Part of the :class:`~engine.chat.directory.Directory`,
held in memory and written through to the store like the rest of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from engine.chat import ids
from engine.chat.records import Block, Site, Template
from engine.errors import AlreadyExists, InvalidArgument, NotFound
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import BLOCKS, TEMPLATES


class SiteLists(ABC):
    """The blacklist and the quick replies of the directory."""

    store: LmdbStore
    sites: dict[str, Site]
    blocks: dict[str, Block]
    templates: dict[str, Template]

    @abstractmethod
    def site(self, site_id: str, account_id: str | None = None) -> Site:
        """The site, within the account when one is given (else unknown)."""

    # -- blacklist -----------------------------------------------------------------------

    async def add_block(
        self,
        account_id: str,
        site_id: str,
        kind: str,
        value: str,
        reason: str,
        now_ms: int,
        expires_ms: int = 0,
    ) -> Block:
        self.site(site_id, account_id)
        if expires_ms and expires_ms <= now_ms:
            raise InvalidArgument("invalid_argument", "a block expires in the future")
        block = Block(
            "b" + ids.random_id(9), site_id, kind, value.strip(), reason, now_ms, expires_ms
        )
        await self.store.write_async([BLOCKS.put(block.id, block.to_doc())])
        self.blocks[block.id] = block
        return block

    def block(self, block_id: str, account_id: str) -> Block:
        block = self.blocks.get(block_id)
        if block is None or self.sites[block.site_id].account_id != account_id:
            raise NotFound("unknown_block", f"no block {block_id[:40]!r}")
        return block

    async def remove_block(self, account_id: str, block_id: str) -> None:
        self.block(block_id, account_id)
        await self.store.write_async([BLOCKS.delete(block_id)])
        del self.blocks[block_id]

    def list_blocks(self, account_id: str, site_id: str) -> list[Block]:
        self.site(site_id, account_id)
        return sorted(
            (b for b in self.blocks.values() if b.site_id == site_id), key=lambda b: b.created_ms
        )

    def blocked(self, site_id: str, ip: str, visitor_id: str, now_ms: int) -> bool:
        return any(
            b.site_id == site_id and b.matches(ip, visitor_id, now_ms) for b in self.blocks.values()
        )

    # -- quick replies ----------------------------------------------------------------

    async def add_template(
        self, account_id: str, operator_id: str, shortcut: str, text: str
    ) -> Template:
        """A quick reply: the account's (``operator_id`` empty) or an operator's own.
        A shortcut is unique among the account's, and among each operator's own
        (an operator's own wins over the account's of the same name)."""
        template = Template(
            id="q" + ids.random_id(9),
            account_id=account_id,
            operator_id=operator_id,
            shortcut=shortcut.strip().lower(),
            text=text,
        )
        for other in self.templates.values():
            if (
                other.account_id == account_id
                and other.shortcut == template.shortcut
                and other.operator_id == operator_id
            ):
                raise AlreadyExists(
                    "already_exists", f"a quick reply /{template.shortcut} exists already"
                )
        await self.store.write_async([TEMPLATES.put(template.id, template.to_doc())])
        self.templates[template.id] = template
        return template

    def template(self, template_id: str, account_id: str) -> Template:
        template = self.templates.get(template_id)
        if template is None or template.account_id != account_id:
            raise NotFound("unknown_template", f"no quick reply {template_id[:40]!r}")
        return template

    async def delete_template(self, template_id: str) -> None:
        await self.store.write_async([TEMPLATES.delete(template_id)])
        self.templates.pop(template_id, None)

    def templates_for(self, account_id: str, operator_id: str, prefix: str = "") -> list[Template]:
        """What an operator can use: its own and the account's, by shortcut;
        its own first when both have one."""
        prefix = prefix.lstrip("/").lower()
        found = [
            t
            for t in self.templates.values()
            if t.account_id == account_id
            and t.operator_id in ("", operator_id)
            and t.shortcut.startswith(prefix)
        ]
        return sorted(found, key=lambda t: (t.shortcut, t.operator_id == ""))
