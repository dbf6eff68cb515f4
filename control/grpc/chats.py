"""The services around chats: Templates (quick replies), Blocks (the
blacklist), Tickets (offline requests), Conversations (waiting lines,
transcripts, visitor info), DirectMessages and Reports."""

from __future__ import annotations

from google.protobuf import empty_pb2

from control import converters
from control.grpc.calls import Ctx, create_once, need, rpc
from control.grpc.masks import changes_of, masked
from control.grpc.paging import page_of
from engine.app import Engine
from engine.chat import account, tickets
from engine.chat.auth import Principal
from engine.chat.directory_edits import TEMPLATE_FIELDS
from engine.chat.tickets import TICKET_FIELDS
from engine.delivery import transcripts
from engine.records import history, reports
from engine.records.queries import hit_key, list_key
from parley.v1 import control_pb2 as pb
from parley.v1 import control_pb2_grpc as grpc_pb

EMPTY = empty_pb2.Empty
BLOCK_KINDS = ("ip", "visitor")


class TemplatesService(grpc_pb.TemplatesServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @rpc("Templates", "GetTemplate")
    async def GetTemplate(
        self, request: pb.GetTemplateRequest, p: Principal, context: Ctx
    ) -> pb.Template:
        return converters.template_pb(account.own_template(self.engine, p, request.template_id))

    @rpc("Templates", "ListTemplates")
    async def ListTemplates(
        self, request: pb.ListTemplatesRequest, p: Principal, context: Ctx
    ) -> pb.ListTemplatesResponse:
        page = page_of(request, "templates", p.account_id, request.prefix, request.conversation_id)
        found, values = await account.templates(
            self.engine, p, request.prefix, request.conversation_id
        )
        taken, token = page.take(found, lambda t: (t.shortcut, t.operator_id == "", t.id))
        return pb.ListTemplatesResponse(
            templates=[converters.template_pb(t, values) for t in taken], next_page_token=token
        )

    @rpc("Templates", "CreateTemplate")
    async def CreateTemplate(
        self, request: pb.CreateTemplateRequest, p: Principal, context: Ctx
    ) -> pb.Template:
        given = request.template
        template = await create_once(
            self.engine,
            p,
            "CreateTemplate",
            request,
            lambda: account.add_template(self.engine, p, given.shortcut, given.text, given.shared),
            lambda t: t.id,
            lambda template_id: account.own_template(self.engine, p, template_id),
        )
        return converters.template_pb(template)

    @rpc("Templates", "UpdateTemplate")
    async def UpdateTemplate(
        self, request: pb.UpdateTemplateRequest, p: Principal, context: Ctx
    ) -> pb.Template:
        fields = masked(request.update_mask, request.template, TEMPLATE_FIELDS, "template")
        template_id = need(request.template.id, "template.id")
        changes = changes_of(request.template, fields)
        template = await account.update_template(self.engine, p, template_id, changes)
        return converters.template_pb(template)

    @rpc("Templates", "DeleteTemplate")
    async def DeleteTemplate(
        self, request: pb.DeleteTemplateRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await account.delete_template(self.engine, p, request.template_id)
        return EMPTY()


class BlocksService(grpc_pb.BlocksServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    @rpc("Blocks", "GetBlock")
    async def GetBlock(self, request: pb.GetBlockRequest, p: Principal, context: Ctx) -> pb.Block:
        return converters.block_pb(self.directory.block(request.block_id, p.account_id))

    @rpc("Blocks", "ListBlocks")
    async def ListBlocks(
        self, request: pb.ListBlocksRequest, p: Principal, context: Ctx
    ) -> pb.ListBlocksResponse:
        page = page_of(request, "blocks", p.account_id, request.site_id)
        found = self.directory.list_blocks(p.account_id, request.site_id)
        blocks, token = page.take(found, lambda b: (b.created_ms, b.id))
        return pb.ListBlocksResponse(
            blocks=[converters.block_pb(b) for b in blocks], next_page_token=token
        )

    @rpc("Blocks", "CreateBlock")
    async def CreateBlock(
        self, request: pb.CreateBlockRequest, p: Principal, context: Ctx
    ) -> pb.Block:
        given = request.block
        need(given.site_id, "block.site_id")
        block = await create_once(
            self.engine,
            p,
            "CreateBlock",
            request,
            lambda: account.add_block(
                self.engine,
                p,
                given.site_id,
                given.kind,
                given.value,
                given.reason,
                request.expires_in_seconds,
            ),
            lambda b: b.id,
            lambda block_id: self.directory.block(block_id, p.account_id),
        )
        return converters.block_pb(block)

    @rpc("Blocks", "DeleteBlock")
    async def DeleteBlock(
        self, request: pb.DeleteBlockRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.directory.remove_block(p.account_id, request.block_id)
        return EMPTY()


class TicketsService(grpc_pb.TicketsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @rpc("Tickets", "GetTicket")
    async def GetTicket(
        self, request: pb.GetTicketRequest, p: Principal, context: Ctx
    ) -> pb.Ticket:
        return converters.ticket_pb(account.ticket(self.engine, p, request.ticket_id))

    @rpc("Tickets", "ListTickets")
    async def ListTickets(
        self, request: pb.ListTicketsRequest, p: Principal, context: Ctx
    ) -> pb.ListTicketsResponse:
        page = page_of(request, "tickets", p.account_id, request.site_id)
        found = account.tickets(self.engine, p, request.site_id, 1_000_000)
        tickets, token = page.take(found, lambda t: (-t.created_ms, t.id))
        return pb.ListTicketsResponse(
            tickets=[converters.ticket_pb(t) for t in tickets], next_page_token=token
        )

    @rpc("Tickets", "UpdateTicket")
    async def UpdateTicket(
        self, request: pb.UpdateTicketRequest, p: Principal, context: Ctx
    ) -> pb.Ticket:
        fields = masked(request.update_mask, request.ticket, TICKET_FIELDS, "ticket")
        ticket_id = need(request.ticket.id, "ticket.id")
        changes = changes_of(request.ticket, fields)
        updated = await tickets.update_ticket(self.engine, p, ticket_id, changes)
        return converters.ticket_pb(updated)

    @rpc("Tickets", "ReplyToTicket")
    async def ReplyToTicket(
        self, request: pb.ReplyToTicketRequest, p: Principal, context: Ctx
    ) -> pb.Ticket:
        ticket_id = need(request.ticket_id, "ticket_id")
        updated = await tickets.reply_to_ticket(self.engine, p, ticket_id, request.text)
        return converters.ticket_pb(updated)


class ConversationsService(grpc_pb.ConversationsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @rpc("Conversations", "ListWaitingConversations")
    async def ListWaitingConversations(
        self, request: pb.ListWaitingConversationsRequest, p: Principal, context: Ctx
    ) -> pb.ListWaitingConversationsResponse:
        page = page_of(request, "waiting", p.account_id, request.department_id)
        waiting = await account.waiting_line(self.engine, p, request.department_id)
        chats, token = page.take(waiting, lambda c: (c.position, c.conversation_id))
        return pb.ListWaitingConversationsResponse(
            chats=[pb.WaitingChat(**chat._asdict()) for chat in chats], next_page_token=token
        )

    @rpc("Conversations", "ListMessages")
    async def ListMessages(
        self, request: pb.ListMessagesRequest, p: Principal, context: Ctx
    ) -> pb.ListMessagesResponse:
        conv_id = request.conversation_id
        if request.before_seq:
            return self._messages_before(request, p)
        page = page_of(request, "messages", p.account_id, conv_id, request.after_seq)
        after = max(request.after_seq, int(page.after[0]) if page.after else 0)
        events = account.transcript(self.engine, p, conv_id, after, page.size + 1)
        messages, token = page.cut(events, lambda e: (e.seq,))
        return pb.ListMessagesResponse(
            messages=[converters.message_pb(e) for e in messages], next_page_token=token
        )

    def _messages_before(
        self, request: pb.ListMessagesRequest, p: Principal
    ) -> pb.ListMessagesResponse:
        """Backwards: the page before ``before_seq`` (or before the previous
        page), oldest first within it. Seqs are contiguous, so a page is a range."""
        conv_id, floor = request.conversation_id, request.after_seq
        page = page_of(request, "messages_before", p.account_id, conv_id, floor, request.before_seq)
        below = min(request.before_seq, int(page.after[0]) if page.after else request.before_seq)
        events = account.transcript_before(self.engine, p, conv_id, floor, below, page.size)
        more = bool(events) and events[0].seq > floor + 1
        token = page.token((events[0].seq,)) if more else ""
        return pb.ListMessagesResponse(
            messages=[converters.message_pb(e) for e in events], next_page_token=token
        )

    @rpc("Conversations", "GetVisitorInfo")
    async def GetVisitorInfo(
        self, request: pb.GetVisitorInfoRequest, p: Principal, context: Ctx
    ) -> pb.VisitorInfo:
        info = await account.visitor_info(self.engine, p, request.conversation_id)
        return converters.visitor_info_pb(info, self.engine.clock.wall_ms())

    @rpc("Conversations", "SendTranscript")
    async def SendTranscript(
        self, request: pb.SendTranscriptRequest, p: Principal, context: Ctx
    ) -> pb.SendTranscriptResponse:
        to, outbox_id = await transcripts.send_to_visitor(self.engine, p, request.conversation_id)
        return pb.SendTranscriptResponse(email=to, outbox_id=outbox_id)

    @rpc("Conversations", "GetConversation")
    async def GetConversation(
        self, request: pb.GetConversationRequest, p: Principal, context: Ctx
    ) -> pb.Conversation:
        row = history.get_conversation(self.engine, p, request.conversation_id)
        return converters.conversation_pb(row)

    @rpc("Conversations", "ListConversations")
    async def ListConversations(
        self, request: pb.ListConversationsRequest, p: Principal, context: Ctx
    ) -> pb.ListConversationsResponse:
        query = converters.history_query(request.filter)
        order = request.order_by or "time"
        page = page_of(request, "conversations", p.account_id, query, order)
        rows = await history.list_conversations(
            self.engine, p, query, order, page.after, page.size + 1
        )
        taken, token = page.cut(rows, lambda r: list_key(order, r))
        return pb.ListConversationsResponse(
            conversations=[converters.conversation_pb(r) for r in taken], next_page_token=token
        )

    @rpc("Conversations", "SearchConversations")
    async def SearchConversations(
        self, request: pb.SearchConversationsRequest, p: Principal, context: Ctx
    ) -> pb.SearchConversationsResponse:
        query = converters.history_query(request.filter)
        page = page_of(request, "search", p.account_id, query, request.query)
        hits = await history.search_conversations(
            self.engine, p, request.query, query, page.after, page.size + 1
        )
        taken, token = page.cut(hits, hit_key)
        return pb.SearchConversationsResponse(
            hits=[
                pb.ConversationHit(
                    conversation=converters.conversation_pb(h.conversation),
                    seq=h.seq,
                    snippet=h.snippet,
                )
                for h in taken
            ],
            next_page_token=token,
        )


class DirectMessagesService(grpc_pb.DirectMessagesServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @rpc("DirectMessages", "ListDirectMessages")
    async def ListDirectMessages(
        self, request: pb.ListDirectMessagesRequest, p: Principal, context: Ctx
    ) -> pb.ListDirectMessagesResponse:
        other = request.with_operator_id
        page = page_of(request, "direct", p.account_id, p.operator_id, other, request.after_seq)
        after = max(request.after_seq, int(page.after[0]) if page.after else 0)
        found = account.direct_messages(self.engine, p, other, after, page.size + 1)
        messages, token = page.cut(found, lambda m: (m.seq,))
        return pb.ListDirectMessagesResponse(
            messages=[converters.direct_pb(m) for m in messages], next_page_token=token
        )


class ReportsService(grpc_pb.ReportsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @rpc("Reports", "GetStatistics")
    async def GetStatistics(
        self, request: pb.GetStatisticsRequest, p: Principal, context: Ctx
    ) -> pb.Statistics:
        rows = await account.statistics(self.engine, p, request.site_id)
        return pb.Statistics(
            departments=[
                pb.DepartmentStatistics(
                    department_id=d.id, name=d.name, operators_online=online, **counts
                )
                for d, online, counts in rows
            ]
        )

    @rpc("Reports", "GetUsage")
    async def GetUsage(self, request: pb.GetUsageRequest, p: Principal, context: Ctx) -> pb.Usage:
        return pb.Usage(**await account.usage(self.engine, p))

    @rpc("Reports", "GetReport")
    async def GetReport(
        self, request: pb.GetReportRequest, p: Principal, context: Ctx
    ) -> pb.Report:
        query = converters.report_query(request)
        return converters.report_pb(await reports.get_report(self.engine, p, query))
