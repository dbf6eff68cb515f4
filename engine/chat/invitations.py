"""The Visitors RPCs' engine calls: who is on the sites now, and inviting one
to chat. The checks that need the directory and the operator's actor are here;
what needs the live list is the Lobby actor's (:mod:`engine.chat.lobby`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.chat import policies
from engine.chat.auth import Principal
from engine.chat.kinds import LOBBY, OPERATOR, VISITOR
from engine.chat.lobby_messages import Invite, ListOnline, OnlineVisitor
from engine.chat.messages import GetOperatorState, GetVisitorInfo
from engine.errors import FailedPrecondition, InvalidArgument, NotFound

if TYPE_CHECKING:
    from engine.app import Engine

TEXT_PROBLEMS = {
    "empty_message": "an invitation needs a text",
    "message_too_long": f"an invitation has at most {policies.MAX_TEXT} characters",
}


async def list_online(
    engine: Engine, p: Principal, site_id: str, after: tuple[int, str] | None, limit: int
) -> list[OnlineVisitor]:
    """Up to ``limit`` visitors on the account's sites (or ``site_id``'s) after
    ``after`` (arrived_ms, visitor id)."""
    if site_id:
        engine.directory.site(site_id, p.account_id)  # unknown_site if not ours
    return await engine.system.ref(LOBBY, p.account_id).ask(ListOnline(site_id, after, limit))


async def invite(engine: Engine, p: Principal, visitor_id: str, text: str) -> str:
    """Invite an online visitor of the caller's account; the invitation id.
    Another account's visitor is unknown before anything else is checked."""
    unknown = NotFound("unknown_visitor", f"no visitor {visitor_id[:64]!r}", field="visitor_id")
    if not visitor_id:
        raise unknown
    try:
        info = await engine.system.ref(VISITOR, visitor_id).ask(GetVisitorInfo())
    except NotFound:
        raise unknown from None
    site = engine.directory.sites.get(info.site_id)
    if site is None or site.account_id != p.account_id:
        raise unknown  # another account's visitor is nobody here
    code = policies.check_text(text)
    if code is not None:
        raise InvalidArgument(code, TEXT_PROBLEMS[code], field="text")
    op = engine.directory.operator(p.operator_id)
    state = await engine.system.ref(OPERATOR, p.operator_id).ask(GetOperatorState())
    if not state.online:
        raise FailedPrecondition(
            "operator_unavailable", "open the console (a session) to hear the answer"
        )
    if state.load >= op.max_chats:
        raise FailedPrecondition("at_capacity", "you have no free chat for the answer")
    lobby = engine.system.ref(LOBBY, p.account_id)
    return await lobby.ask(Invite(visitor_id, p.operator_id, op.display_name, op.avatar_url, text))
