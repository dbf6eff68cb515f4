"""Pure conversions between engine objects and protobuf messages: records and
events out, clients' commands in."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ua_parser import parse as ua_parse

from engine.chat import commands
from engine.chat.commands import OperatorCommand, VisitorCommand
from engine.chat.events import (
    RETRY_AFTER_MS,
    Ack,
    Assigned,
    ChatCard,
    ChatListed,
    ChatUnlisted,
    Closed,
    CommandFailed,
    Departments,
    DirectMessage,
    Event,
    Invitation,
    InvitationEnded,
    MessageEvent,
    Offered,
    OfferWithdrawn,
    OperatorJoined,
    OperatorPresence,
    PrechatSaved,
    Queued,
    Rated,
    ReadUpTo,
    TicketSaved,
    TranscriptSent,
    Typing,
    VisitorsOnline,
)
from engine.chat.messages import VisitorInfo
from engine.chat.records import (
    DEPARTMENT_SETTINGS,
    Account,
    Block,
    Department,
    Group,
    LinkRule,
    Operator,
    Region,
    Site,
    Template,
    Ticket,
)
from engine.chat.widget_look import WidgetText
from engine.records.history import Query
from engine.records.reports import Report, ReportQuery, ReportRow
from engine.records.rows import ConversationRow
from engine.status import ServerStatus
from parley.v1 import common_pb2, control_pb2, operator_pb2, visitor_pb2

AUTHOR_KINDS = {
    "visitor": common_pb2.AUTHOR_KIND_VISITOR,
    "operator": common_pb2.AUTHOR_KIND_OPERATOR,
    "system": common_pb2.AUTHOR_KIND_SYSTEM,
    "note": common_pb2.AUTHOR_KIND_NOTE,
}


def message_pb(e: MessageEvent) -> common_pb2.ChatMessage:
    message = common_pb2.ChatMessage()
    fill_message(message, e)
    return message


def error_pb(e: CommandFailed) -> common_pb2.CommandError:
    return common_pb2.CommandError(
        code=e.code,
        message=e.message,
        retryable=e.retryable,
        client_msg_id=e.client_msg_id,
        conversation_id=e.conversation_id,
        retry_after_ms=RETRY_AFTER_MS.get(e.code, 0),
    )


def ack_pb(e: Ack) -> common_pb2.MessageAck:
    return common_pb2.MessageAck(
        conversation_id=e.conversation_id, client_msg_id=e.client_msg_id, seq=e.seq
    )


def fill_message(target: Any, e: MessageEvent) -> None:
    """Write ``e`` into an existing ChatMessage (no intermediate message to copy:
    this runs once per delivered message)."""
    target.conversation_id = e.conversation_id
    target.seq = e.seq
    target.author_kind = AUTHOR_KINDS[e.author_kind]
    target.author_id = e.author_id
    target.author_name = e.author_name
    target.text = e.text
    target.client_msg_id = e.client_msg_id
    target.sent_at_ms = e.sent_at_ms
    if e.attachment is not None:
        f = e.attachment
        a = target.attachment
        a.sha256, a.name, a.content_type, a.size = f.digest, f.name, f.content_type, f.size
        a.width, a.height = f.width, f.height
    if e.notice:
        target.notice = e.notice[0]
        target.notice_args.extend(e.notice[1:])


def add_operator_events(
    batch: operator_pb2.OperatorEventBatch, events: list[Event | operator_pb2.OperatorEvent]
) -> None:
    """Append engine events (or ready protobuf events) to an outgoing batch."""
    add = batch.events.add
    for event in events:
        # Dispatch by exact class (the hot path); ``e`` is the event untyped for it.
        e: Any = event
        cls = type(event)
        if cls is MessageEvent:
            fill_message(add().message, e)
        elif cls is Ack:
            ack = add().ack
            ack.conversation_id = e.conversation_id
            ack.client_msg_id = e.client_msg_id
            ack.seq = e.seq
        elif cls is operator_pb2.OperatorEvent:
            batch.events.append(e)
        else:
            batch.events.append(operator_event(e))


def typing_pb(e: Typing) -> common_pb2.TypingNotice:
    return common_pb2.TypingNotice(
        conversation_id=e.conversation_id,
        author_kind=AUTHOR_KINDS[e.author_kind],
        author_name=e.author_name,
        active=e.active,
        preview=e.preview,
    )


def read_pb(e: ReadUpTo) -> common_pb2.ReadReceipt:
    return common_pb2.ReadReceipt(
        conversation_id=e.conversation_id,
        reader_kind=AUTHOR_KINDS[e.reader_kind],
        reader_name=e.reader_name,
        seq=e.seq,
    )


def operator_event(event: Event) -> operator_pb2.OperatorEvent:
    cls = type(event)
    e: Any = event
    if cls is MessageEvent:
        return operator_pb2.OperatorEvent(message=message_pb(e))
    if cls is Ack:
        return operator_pb2.OperatorEvent(ack=ack_pb(e))
    if cls is Assigned:
        return operator_pb2.OperatorEvent(
            assigned=operator_pb2.ConversationAssigned(
                conversation_id=e.conversation_id,
                site_id=e.site_id,
                department_id=e.department_id,
                visitor_id=e.visitor_id,
                visitor_name=e.visitor_name,
                last_seq=e.last_seq,
            )
        )
    if cls is CommandFailed:
        return operator_pb2.OperatorEvent(error=error_pb(e))
    if cls is Typing:
        return operator_pb2.OperatorEvent(typing=typing_pb(e))
    if cls is ReadUpTo:
        return operator_pb2.OperatorEvent(read=read_pb(e))
    if cls is Rated:
        return operator_pb2.OperatorEvent(
            rated=operator_pb2.ConversationRated(conversation_id=e.conversation_id, score=e.score)
        )
    if cls is Closed:
        return operator_pb2.OperatorEvent(
            closed=operator_pb2.ConversationClosed(
                conversation_id=e.conversation_id, closed_by=e.closed_by, reason=e.reason
            )
        )
    if cls is Offered:
        return operator_pb2.OperatorEvent(
            offered=operator_pb2.ChatOffered(
                conversation_id=e.conversation_id,
                site_id=e.site_id,
                department_id=e.department_id,
                visitor_id=e.visitor_id,
                visitor_name=e.visitor_name,
                expires_in_seconds=e.expires_in,
            )
        )
    if cls is OfferWithdrawn:
        return operator_pb2.OperatorEvent(
            withdrawn=operator_pb2.OfferWithdrawn(
                conversation_id=e.conversation_id, reason=e.reason
            )
        )
    if cls is OperatorPresence:
        return operator_pb2.OperatorEvent(
            presence=operator_pb2.OperatorStatus(
                operator_id=e.operator_id, display_name=e.display_name, status=e.status
            )
        )
    if cls is DirectMessage:
        return operator_pb2.OperatorEvent(direct=direct_pb(e))
    if cls is InvitationEnded:
        return operator_pb2.OperatorEvent(
            invitation_ended=operator_pb2.InvitationEnded(
                invitation_id=e.invitation_id, visitor_id=e.visitor_id, outcome=e.outcome
            )
        )
    if cls is VisitorsOnline:
        return operator_pb2.OperatorEvent(
            visitors_online=operator_pb2.VisitorsOnline(visitors=e.visitors)
        )
    if cls is ChatListed:
        return operator_pb2.OperatorEvent(
            listed=operator_pb2.ChatListed(card=card_pb(e.card), view=e.view)
        )
    if cls is ChatUnlisted:
        return operator_pb2.OperatorEvent(
            unlisted=operator_pb2.ChatUnlisted(conversation_id=e.conversation_id)
        )
    raise ValueError(f"no operator event for {event!r}")


def card_pb(c: ChatCard) -> operator_pb2.ChatCard:
    return operator_pb2.ChatCard(
        conversation_id=c.conversation_id,
        site_id=c.site_id,
        department_id=c.department_id,
        visitor_id=c.visitor_id,
        visitor_name=c.visitor_name,
        status=c.status,
        operator_ids=list(c.operators),
        invisible_operator_ids=list(c.invisible),
        missed=c.missed,
        chat_status=c.chat_status,
        started_ms=c.started_ms,
        updated_ms=c.updated_ms,
    )


def visitor_widget_pb(doc: dict[str, Any]) -> visitor_pb2.VisitorWidget:
    """The site's widget settings as the welcome tells them
    (:func:`engine.chat.widget_look.widget_doc`, which the websocket welcome
    carries as is)."""
    prechat = doc["prechat"]
    return visitor_pb2.VisitorWidget(
        color=doc["color"],
        position=doc["position"],
        avatars=doc["avatars"],
        prechat=visitor_pb2.VisitorPrechatForm(
            name=prechat["name"], email=prechat["email"], question=prechat["question"]
        ),
        texts=[
            visitor_pb2.VisitorWidgetText(
                language="" if language == "*" else language,
                title=words["title"],
                greeting=words["greeting"],
                offline=words["offline"],
            )
            for language, words in sorted(doc["texts"].items())
        ],
    )


def departments_pb(d: Departments) -> visitor_pb2.DepartmentsState:
    return visitor_pb2.DepartmentsState(
        departments=[
            visitor_pb2.DepartmentState(
                department_id=s.department_id,
                name=s.name,
                online=s.online,
                regions=[
                    visitor_pb2.RegionState(region_id=r.region_id, name=r.name, online=r.online)
                    for r in s.regions
                ],
            )
            for s in d.departments
        ],
        chosen_department_id=d.department_id,
        offline=d.offline,
    )


def visitor_event(event: Event) -> visitor_pb2.VisitorEvent:
    cls = type(event)
    e: Any = event
    if cls is MessageEvent:
        return visitor_pb2.VisitorEvent(message=message_pb(e))
    if cls is Ack:
        return visitor_pb2.VisitorEvent(ack=ack_pb(e))
    if cls is CommandFailed:
        return visitor_pb2.VisitorEvent(error=error_pb(e))
    if cls is Queued:
        return visitor_pb2.VisitorEvent(
            queued=visitor_pb2.QueuePosition(
                conversation_id=e.conversation_id, position=e.position, eta_seconds=e.eta_seconds
            )
        )
    if cls is OperatorJoined:
        return visitor_pb2.VisitorEvent(
            assigned=visitor_pb2.OperatorJoined(
                conversation_id=e.conversation_id,
                operator_name=e.operator_name,
                avatar_url=e.avatar_url,
            )
        )
    if cls is Typing:
        return visitor_pb2.VisitorEvent(typing=typing_pb(e))
    if cls is ReadUpTo:
        return visitor_pb2.VisitorEvent(read=read_pb(e))
    if cls is Rated:
        return visitor_pb2.VisitorEvent(
            rated=visitor_pb2.ConversationRatedForVisitor(
                conversation_id=e.conversation_id, score=e.score
            )
        )
    if cls is Closed:
        return visitor_pb2.VisitorEvent(
            closed=visitor_pb2.ConversationClosedForVisitor(
                conversation_id=e.conversation_id, reason=e.reason
            )
        )
    if cls is Departments:
        return visitor_pb2.VisitorEvent(departments=departments_pb(e))
    if cls is TicketSaved:
        return visitor_pb2.VisitorEvent(ticket=visitor_pb2.TicketSaved(ticket_id=e.ticket_id))
    if cls is PrechatSaved:
        return visitor_pb2.VisitorEvent(
            prechat_saved=visitor_pb2.VisitorPrechatSaved(name=e.name, email=e.email)
        )
    if cls is Invitation:
        return visitor_pb2.VisitorEvent(
            invitation=visitor_pb2.VisitorInvitation(
                invitation_id=e.invitation_id,
                operator_name=e.operator_name,
                avatar_url=e.avatar_url,
                text=e.text,
            )
        )
    if cls is InvitationEnded:
        return visitor_pb2.VisitorEvent(
            invitation_ended=visitor_pb2.VisitorInvitationEnded(
                invitation_id=e.invitation_id, outcome=e.outcome
            )
        )
    if cls is TranscriptSent:
        return visitor_pb2.VisitorEvent(
            transcript_sent=visitor_pb2.TranscriptSent(
                conversation_id=e.conversation_id, email=e.email
            )
        )
    raise ValueError(f"no visitor event for {event!r}")


def account_pb(a: Account, sites: int, operators: int) -> control_pb2.Account:
    return control_pb2.Account(
        id=a.id, name=a.name, suspended=a.suspended, sites=sites, operators=operators
    )


def site_pb(s: Site) -> control_pb2.Site:
    return control_pb2.Site(
        typing_preview=s.typing_preview,
        id=s.id,
        account_id=s.account_id,
        name=s.name,
        allowed_origins=list(s.allowed_origins),
        timezone=s.timezone,
        languages=list(s.languages),
        quota_mb=s.quota_mb,
        attachment_max_kb=s.attachment_max_kb,
        attachment_quota_mb=s.attachment_quota_mb,
        transcript_retention_days=s.transcript_retention_days,
        address_retention_days=s.address_retention_days,
        widget_color=s.widget_color,
        widget_position=s.widget_position,
        widget_avatars=s.widget_avatars,
        prechat_name=s.prechat_name,
        prechat_email=s.prechat_email,
        prechat_question=s.prechat_question,
        widget_texts=[
            control_pb2.WidgetText(
                language=t.language, title=t.title, greeting=t.greeting, offline=t.offline
            )
            for t in s.widget_texts
        ],
    )


def widget_texts_of(texts: Iterable[control_pb2.WidgetText]) -> list[WidgetText]:
    """The widget's words as given in a Site (checked as records are built)."""
    return [WidgetText(t.language, t.title, t.greeting, t.offline) for t in texts]


def department_pb(d: Department) -> control_pb2.Department:
    return control_pb2.Department(
        id=d.id,
        site_id=d.site_id,
        name=d.name,
        description=d.description,
        chat_enabled=d.chat_enabled,
        hours=d.hours,
        timezone=d.timezone,
        max_wait_seconds=d.max_wait_seconds,
        fallback_department_id=d.fallback_department_id,
        offer_seconds=d.offer_seconds,
        offline_action=d.offline_action,
        offline_seconds=d.offline_seconds,
    )


def region_pb(r: Region) -> control_pb2.Region:
    return control_pb2.Region(id=r.id, department_id=r.department_id, name=r.name)


def group_pb(g: Group) -> control_pb2.Group:
    return control_pb2.Group(id=g.id, site_id=g.site_id, name=g.name)


def link_pb(link: LinkRule) -> control_pb2.LinkRule:
    return control_pb2.LinkRule(
        id=link.id,
        site_id=link.site_id,
        pattern=link.pattern,
        group_id=link.group_id,
        position=link.position,
    )


def ticket_pb(t: Ticket) -> control_pb2.Ticket:
    return control_pb2.Ticket(
        id=t.id,
        site_id=t.site_id,
        department_id=t.department_id,
        visitor_id=t.visitor_id,
        name=t.name,
        email=t.email,
        text=t.text,
        created_ms=t.created_ms,
        language=t.language,
        page_url=t.page_url,
        status=t.status,
        assignee_id=t.assignee_id,
        updated_ms=t.updated_ms,
        replies=[
            control_pb2.TicketReply(operator_id=op_id, operator_name=name, text=text, sent_ms=ms)
            for op_id, name, text, ms in t.replies
        ],
        kind=t.kind,
        conversation_id=t.conversation_id,
    )


def operator_pb(o: Operator, status: str = "offline") -> control_pb2.Operator:
    return control_pb2.Operator(
        id=o.id,
        account_id=o.account_id,
        email=o.email,
        display_name=o.display_name,
        role=o.role,
        department_ids=list(o.department_ids),
        max_chats=o.max_chats,
        online=status != "offline",
        status=status,
        avatar_url=o.avatar_url,
        languages=list(o.languages),
        region_ids=list(o.region_ids),
        group_ids=list(o.group_ids),
        schedule=o.schedule,
        timezone=o.timezone,
        auto_distribution=o.auto_distribution,
        auto_accept=o.auto_accept,
        disabled=o.disabled,
        mail_notifications=list(o.mail_notifications),
        internal_name=o.internal_name,
    )


def template_pb(t: Template, values: dict[str, str] | None = None) -> control_pb2.Template:
    return control_pb2.Template(
        id=t.id,
        operator_id=t.operator_id,
        shortcut=t.shortcut,
        text=t.text,
        rendered=t.render(values) if values is not None else "",
        shared=not t.operator_id,  # the account's, not one operator's
    )


def visitor_info_pb(info: VisitorInfo, now_ms: int) -> control_pb2.VisitorInfo:
    """The visitor actor's record, with browser and OS read from the user agent."""
    browser = system = ""
    if info.user_agent:
        parsed = ua_parse(info.user_agent)
        if parsed.user_agent is not None:
            browser = " ".join(x for x in (parsed.user_agent.family, parsed.user_agent.major) if x)
        if parsed.os is not None:
            system = " ".join(x for x in (parsed.os.family, parsed.os.major) if x)
    return control_pb2.VisitorInfo(
        visitor_id=info.visitor_id,
        name=info.name,
        email=info.email,
        ip=info.ip,
        user_agent=info.user_agent,
        browser=browser,
        os=system,
        language=info.language,
        tz_offset_minutes=info.tz_offset_minutes,
        local_time_ms=now_ms + info.tz_offset_minutes * 60_000,
        referrer=info.referrer,
        pages=[control_pb2.PageVisit(url=u, title=t, at_ms=at) for u, t, at in info.pages],
        visits=info.visits,
        first_seen_ms=info.first_seen_ms,
        last_seen_ms=info.last_seen_ms,
        conversation_ids=list(info.conversation_ids),
    )


def direct_pb(e: DirectMessage) -> operator_pb2.DirectMessage:
    return operator_pb2.DirectMessage(
        pair_id=e.pair_id,
        seq=e.seq,
        from_operator_id=e.from_id,
        from_name=e.from_name,
        to_operator_id=e.to_id,
        text=e.text,
        client_msg_id=e.client_msg_id,
        sent_at_ms=e.sent_at_ms,
    )


def server_status_pb(s: ServerStatus) -> control_pb2.ServerStatus:
    return control_pb2.ServerStatus(
        health=s.health,
        health_reason=s.health_reason,
        history_index_lag=s.index_lag,
        version=s.version,
        uptime_seconds=s.uptime_seconds,
        visitor_websockets=s.visitor_websockets,
        operator_streams=s.operator_streams,
        store_used_bytes=s.store_used_bytes,
        map_size_bytes=s.map_size_bytes,
        store_left_bytes=s.store_left_bytes,
        disk_free_bytes=s.disk_free_bytes,
        last_commit_ms=s.last_commit_ms,
        commits=s.commits,
    )


def block_pb(b: Block) -> control_pb2.Block:
    return control_pb2.Block(
        id=b.id,
        site_id=b.site_id,
        kind=b.kind,
        value=b.value,
        reason=b.reason,
        created_ms=b.created_ms,
        expires_ms=b.expires_ms,
    )


def visitor_command(c: visitor_pb2.VisitorCommand) -> VisitorCommand:
    """A visitor channel command as the engine's command (hello: see visitor_hello)."""
    which = c.WhichOneof("command")
    if which == "hello":
        return visitor_hello(c.hello)
    if which == "send":
        return commands.Send(c.send.client_msg_id, c.send.text)
    if which == "rate":
        return commands.RateChat(c.rate.score, c.rate.comment)
    if which == "typing":
        return commands.TypingNow(c.typing.active, c.typing.text)
    if which == "read":
        return commands.ReadTo(c.read.seq)
    if which == "choose":
        return commands.Choose(c.choose.department_id, c.choose.region_id)
    if which == "page":
        return commands.PageChange(c.page.url, c.page.title)
    if which == "ticket":
        return commands.LeaveTicket(c.ticket.name, c.ticket.email, c.ticket.text)
    if which == "close":
        return commands.CloseChat()
    if which == "decline_invitation":
        return commands.DeclineInvitation()
    if which == "prechat":
        p = c.prechat
        return commands.Prechat(p.name, p.email, p.question, p.client_msg_id)
    if which == "email_transcript":
        return commands.EmailTranscript(c.email_transcript.email)
    return commands.UnknownCommand()


def visitor_hello(h: visitor_pb2.VisitorHello) -> commands.Hello:
    return commands.Hello(
        department=h.department_id,
        token=h.token,
        last_seq=h.last_seq,
        name=h.name,
        email=h.email,
        region=h.region_id,
        page_url=h.page_url,
        language=h.language,
        title=h.page_title,
        referrer=h.referrer,
        tz_offset=h.tz_offset_minutes,
        epoch=h.epoch,
        conversation=h.conversation_id,
    )


# A chat action's oneof field, as the engine's action name.
_ACTIONS = {
    "join": "join",
    "leave": "leave",
    "invite_operator_id": "invite",
    "transfer_to_operator_id": "transfer",
    "transfer_to_department_id": "transfer",
    "take_over": "take_over",
    "chat_status": "chat_status",
}


def operator_command(c: operator_pb2.OperatorCommand) -> OperatorCommand:
    """An operator session stream command as the engine's command."""
    which = c.WhichOneof("command")
    if which == "send":
        s = c.send
        return commands.OperatorSend(s.conversation_id, s.client_msg_id, s.text)
    if which == "whisper":
        w = c.whisper
        return commands.OperatorSend(w.conversation_id, w.client_msg_id, w.text, note=True)
    if which == "close":
        return commands.OperatorClose(c.close.conversation_id)
    if which == "typing":
        return commands.OperatorTyping(c.typing.conversation_id, c.typing.active)
    if which == "read":
        return commands.OperatorRead(c.read.conversation_id, c.read.seq)
    if which == "status":
        return commands.SetMyStatus(c.status.status)
    if which == "answer":
        return commands.OfferAnswer(c.answer.conversation_id, c.answer.accept)
    if which == "pick":
        return commands.PickChat(c.pick.conversation_id)
    if which == "action":
        a = c.action
        kind = a.WhichOneof("action") or ""
        return commands.ChatAction(
            a.conversation_id,
            _ACTIONS.get(kind, ""),
            invisible=a.join.invisible,
            operator_id=a.invite_operator_id or a.transfer_to_operator_id,
            department_id=a.transfer_to_department_id,
            from_id=a.take_over.from_operator_id,
            status=a.chat_status,
        )
    if which == "direct":
        d = c.direct
        return commands.DirectSend(d.to_operator_id, d.client_msg_id, d.text)
    if which == "hello":
        resume = {r.conversation_id: r.after_seq for r in c.hello.resume}
        return commands.OperatorHello(resume, c.hello.epoch)
    return commands.UnknownCommand()


# The optional fields of an operator update, and the lists among them.
_OPERATOR_FIELDS = (
    "max_chats",
    "schedule",
    "timezone",
    "auto_distribution",
    "auto_accept",
    "role",
    "disabled",
    "internal_name",
)
_OPERATOR_LISTS = ("department_ids", "languages", "region_ids", "group_ids")


def operator_changes(request: control_pb2.UpdateOperatorRequest) -> dict[str, object]:
    """The settings an operator update sets (a field left out stays as it is)."""
    changes: dict[str, object] = {}
    for field, value in request.ListFields():
        if field.name in _OPERATOR_FIELDS:
            changes[field.name] = value
        elif field.name in _OPERATOR_LISTS:
            changes[field.name] = list(value.values)
    return changes


def department_changes(request: control_pb2.UpdateDepartmentRequest) -> dict[str, object]:
    """The settings a department update sets (a field left out stays as it is)."""
    return {f.name: v for f, v in request.ListFields() if f.name in DEPARTMENT_SETTINGS}


# -- the history ---------------------------------------------------------------------


def conversation_pb(r: ConversationRow) -> control_pb2.Conversation:
    return control_pb2.Conversation(
        id=r.id,
        site_id=r.site_id,
        department_id=r.department_id,
        visitor_id=r.visitor_id,
        visitor_name=r.visitor_name,
        status=r.status,
        operators=[control_pb2.ConversationOperator(operator_id=i, name=n) for i, n in r.operators],
        started_ms=r.created_ms,
        closed_ms=r.closed_ms,
        ended=r.ended,
        closed_by=r.closed_by,
        missed=r.missed,
        rating=r.rating,
        rating_comment=r.comment,
        message_count=r.message_count,
    )


def history_query(f: control_pb2.ConversationFilter) -> Query:
    return Query(
        site_id=f.site_id,
        department_id=f.department_id,
        operator_id=f.operator_id,
        visitor_id=f.visitor_id,
        statuses=tuple(f.statuses),
        ended=tuple(f.ended),
        ratings=tuple(int(r) for r in f.ratings),
        from_ms=f.start_time_ms,
        to_ms=f.end_time_ms,
    )


def report_row_pb(r: ReportRow) -> control_pb2.ReportRow:
    return control_pb2.ReportRow(
        day=r.day,
        hour=r.hour,
        start_time_ms=r.start_ms,
        end_time_ms=r.end_ms,
        chats=r.chats,
        missed=r.missed,
        abandoned=r.abandoned,
        no_operator=r.no_operator,
        answered=r.answered,
        first_response_p50_ms=r.first_response_p50_ms,
        first_response_p90_ms=r.first_response_p90_ms,
        waited=r.waited,
        wait_p50_ms=r.wait_p50_ms,
        wait_p90_ms=r.wait_p90_ms,
        duration_average_ms=r.duration_average_ms,
        duration_p50_ms=r.duration_p50_ms,
        duration_p90_ms=r.duration_p90_ms,
        ratings=r.ratings,
        rating_average=r.rating_average,
    )


def report_pb(r: Report) -> control_pb2.Report:
    return control_pb2.Report(
        timezone=r.timezone,
        rows=[report_row_pb(row) for row in r.rows],
        total=report_row_pb(r.total),
    )


def report_query(request: control_pb2.GetReportRequest) -> ReportQuery:
    return ReportQuery(
        site_id=request.site_id,
        department_id=request.department_id,
        operator_id=request.operator_id,
        start_date=request.start_date,
        end_date=request.end_date,
        group_by=request.group_by or "day",
    )
