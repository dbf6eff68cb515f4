"""The gRPC servicers. They translate, check the permission table, call the
engine and map its refusals; they hold no chat rules.

``calls`` authenticates and authorises every call (the one permission table is
``control.permissions``), ``paging``, ``masks`` and ``calls.create_once`` are
how every List, Update and Create behaves; ``streams`` carries the session
streams' batches. The control plane has one service per kind of resource:
``auth``; ``sites`` (Sites, Departments, Regions, Groups, LinkRules);
``people`` (Operators, Roles); ``chats`` (Templates, Blocks, Tickets,
Conversations, DirectMessages, Reports); ``admin`` (Accounts, Server);
``delivery`` (Mail, Webhooks); ``privacy`` (Audit, Visitors). The streams are
``operator_session`` and ``visitor_channel``. Conversions between protobuf and
engine objects are the pure functions of ``control.converters``; refusals
become statuses with an ErrorInfo in ``control.errors``.
"""

from control.grpc.admin import AccountsService, ServerService
from control.grpc.attachments import AttachmentsService
from control.grpc.auth import AuthService
from control.grpc.chats import (
    BlocksService,
    ConversationsService,
    DirectMessagesService,
    ReportsService,
    TemplatesService,
    TicketsService,
)
from control.grpc.delivery import MailService, WebhooksService
from control.grpc.operator_session import OperatorSessionService
from control.grpc.people import OperatorsService, RolesService
from control.grpc.privacy import AuditService, VisitorsService
from control.grpc.sites import (
    DepartmentsService,
    GroupsService,
    LinkRulesService,
    RegionsService,
    SitesService,
)
from control.grpc.visitor_channel import VisitorChannelService

# The control plane's services by their name in parley.v1 (control.proto).
CONTROL_SERVICES = {
    "Auth": AuthService,
    "Sites": SitesService,
    "Departments": DepartmentsService,
    "Regions": RegionsService,
    "Groups": GroupsService,
    "LinkRules": LinkRulesService,
    "Operators": OperatorsService,
    "Roles": RolesService,
    "Templates": TemplatesService,
    "Blocks": BlocksService,
    "Tickets": TicketsService,
    "Conversations": ConversationsService,
    "DirectMessages": DirectMessagesService,
    "Reports": ReportsService,
    "Accounts": AccountsService,
    "Server": ServerService,
    # email and webhooks
    "Mail": MailService,
    "Webhooks": WebhooksService,
    # Audit log and privacy
    "Audit": AuditService,
    "Visitors": VisitorsService,
    # files in chats
    "Attachments": AttachmentsService,
}

__all__ = ["CONTROL_SERVICES", "OperatorSessionService", "VisitorChannelService"]
