"""The Auth service: log in and out, and what an operator does to its own account
(password, sessions and API tokens, display and internal name, avatar,
auto-accept)."""

from __future__ import annotations

import asyncio

from google.protobuf import empty_pb2

from control import converters
from control.grpc.calls import Ctx, peer_address, public_rpc, rpc
from control.grpc.masks import masked
from control.grpc.paging import page_of
from engine.app import Engine
from engine.chat import account
from engine.chat.auth import Principal
from engine.chat.permissions import AUTO_ACCEPT, CHANGE_DISPLAY_NAME, require
from engine.records import daily
from parley.v1 import control_pb2 as pb
from parley.v1 import control_pb2_grpc

# What one may change of oneself with UpdateMe, and what needs more than a session.
ME_FIELDS = (
    "display_name",
    "internal_name",
    "avatar_url",
    "auto_accept",
    "mail_notifications",
    "timezone",
)
ME_PERMISSIONS = {"display_name": CHANGE_DISPLAY_NAME, "auto_accept": AUTO_ACCEPT}


class AuthService(control_pb2_grpc.AuthServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @public_rpc("Auth", "Login")
    async def Login(self, request: pb.LoginRequest, context: Ctx) -> pb.LoginResponse:
        token, expires, op = await self.engine.auth.login(
            request.email, request.password, peer_address(context)
        )
        return pb.LoginResponse(
            token=token, expires_at_ms=expires, operator=converters.operator_pb(op)
        )

    @rpc("Auth", "Logout")
    async def Logout(
        self, request: pb.LogoutRequest, principal: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.engine.auth.logout(principal)
        return empty_pb2.Empty()

    @rpc("Auth", "GetMe")
    async def GetMe(
        self, request: pb.GetMeRequest, principal: Principal, context: Ctx
    ) -> pb.Operator:
        return converters.operator_pb(self.engine.directory.operator(principal.operator_id))

    @rpc("Auth", "UpdateMe")
    async def UpdateMe(
        self, request: pb.UpdateMeRequest, principal: Principal, context: Ctx
    ) -> pb.Operator:
        given = request.operator
        fields = masked(request.update_mask, given, ME_FIELDS, "operator")
        held = self.engine.directory.role_permissions(principal.account_id, principal.role)
        for field in fields:  # each checked before anything changes
            if field in ME_PERMISSIONS:
                require(held, principal.role, ME_PERMISSIONS[field])
        if "mail_notifications" in fields:
            daily.check_opt_in(self.engine, list(given.mail_notifications))
        profile = {f: getattr(given, f) for f in fields if f != "auto_accept"}
        if profile:
            await self.engine.directory.update_profile(principal.operator_id, **profile)
            if "mail_notifications" in profile or "timezone" in profile:
                # Answered once the check it calls for is done: a report it
                # makes is in the outbox when the caller looks.
                check = self.engine.daily.changed()
                if check is not None:
                    await asyncio.shield(check)
        if "auto_accept" in fields:
            await account.set_auto_accept(self.engine, principal, given.auto_accept)
        return converters.operator_pb(self.engine.directory.operator(principal.operator_id))

    @rpc("Auth", "ChangePassword")
    async def ChangePassword(
        self, request: pb.ChangePasswordRequest, principal: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.engine.auth.change_password(
            principal, request.current_password, request.new_password
        )
        return empty_pb2.Empty()

    @rpc("Auth", "ListSessions")
    async def ListSessions(
        self, request: pb.ListSessionsRequest, principal: Principal, context: Ctx
    ) -> pb.ListSessionsResponse:
        page = page_of(request, "sessions", principal.account_id, principal.operator_id)
        sessions = self.engine.auth.sessions(principal.operator_id, principal.token_digest)
        taken, token = page.take(sessions, lambda s: (-int(s["created_ms"]), str(s["id"])))
        return pb.ListSessionsResponse(
            sessions=[
                pb.SessionInfo(
                    id=s["id"],
                    created_at_ms=s["created_ms"],
                    expires_at_ms=s["expires_ms"],
                    current=s["current"],
                    name=s["name"],
                )
                for s in taken
            ],
            next_page_token=token,
        )

    @rpc("Auth", "DeleteSession")
    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, principal: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.engine.auth.revoke_session(principal.operator_id, request.session_id)
        return empty_pb2.Empty()

    @rpc("Auth", "CreateApiToken")
    async def CreateApiToken(
        self, request: pb.CreateApiTokenRequest, principal: Principal, context: Ctx
    ) -> pb.LoginResponse:
        token, expires = await self.engine.auth.create_api_token(
            principal, request.name, request.days or 90
        )
        op = self.engine.directory.operator(principal.operator_id)
        return pb.LoginResponse(
            token=token, expires_at_ms=expires, operator=converters.operator_pb(op)
        )
