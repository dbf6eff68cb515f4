"""One stub per control-plane service over one channel: what the CLI's client
and the tests' clients hold (a grpc channel or a grpc.aio one alike)."""

from __future__ import annotations

from typing import Any

from parley.v1 import control_pb2_grpc


class Stubs:
    """The control plane's services, one attribute each."""

    def __init__(self, channel: Any) -> None:
        self.auth = control_pb2_grpc.AuthStub(channel)
        self.sites = control_pb2_grpc.SitesStub(channel)
        self.departments = control_pb2_grpc.DepartmentsStub(channel)
        self.regions = control_pb2_grpc.RegionsStub(channel)
        self.groups = control_pb2_grpc.GroupsStub(channel)
        self.link_rules = control_pb2_grpc.LinkRulesStub(channel)
        self.operators = control_pb2_grpc.OperatorsStub(channel)
        self.roles = control_pb2_grpc.RolesStub(channel)
        self.templates = control_pb2_grpc.TemplatesStub(channel)
        self.blocks = control_pb2_grpc.BlocksStub(channel)
        self.tickets = control_pb2_grpc.TicketsStub(channel)
        self.conversations = control_pb2_grpc.ConversationsStub(channel)
        self.direct_messages = control_pb2_grpc.DirectMessagesStub(channel)
        self.reports = control_pb2_grpc.ReportsStub(channel)
        self.accounts = control_pb2_grpc.AccountsStub(channel)
        self.server = control_pb2_grpc.ServerStub(channel)
        self.mail = control_pb2_grpc.MailStub(channel)
        self.webhooks = control_pb2_grpc.WebhooksStub(channel)
        self.audit = control_pb2_grpc.AuditStub(channel)
        self.visitors = control_pb2_grpc.VisitorsStub(channel)
        self.attachments = control_pb2_grpc.AttachmentsStub(channel)
