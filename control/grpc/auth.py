"""The Auth service: log in and out, and what an operator does to its own account
(password, sessions and API tokens, display name, avatar, auto-accept)."""

from __future__ import annotations

import grpc

from control import converters
from control.grpc.calls import peer_address, public_rpc, rpc
from engine.app import Engine
from engine.chat import account
from engine.chat.auth import Principal
from parley.v1 import common_pb2, control_pb2, control_pb2_grpc


class AuthService(control_pb2_grpc.AuthServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @public_rpc("Auth", "Login")
    async def Login(
        self,
        request: control_pb2.LoginRequest,
        context: grpc.aio.ServicerContext[control_pb2.LoginRequest, control_pb2.LoginReply],
    ) -> control_pb2.LoginReply:
        token, expires, op = await self.engine.auth.login(
            request.email, request.password, peer_address(context)
        )
        return control_pb2.LoginReply(
            token=token, expires_at_ms=expires, operator=converters.operator_pb(op)
        )

    @rpc("Auth", "Logout")
    async def Logout(
        self,
        request: common_pb2.Empty,
        principal: Principal,
        context: grpc.aio.ServicerContext[common_pb2.Empty, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await self.engine.auth.logout(principal)
        return common_pb2.Empty()

    @rpc("Auth", "WhoAmI")
    async def WhoAmI(
        self,
        request: common_pb2.Empty,
        principal: Principal,
        context: grpc.aio.ServicerContext[common_pb2.Empty, control_pb2.Operator],
    ) -> control_pb2.Operator:
        return converters.operator_pb(self.engine.directory.operator(principal.operator_id))

    @rpc("Auth", "ChangePassword")
    async def ChangePassword(
        self,
        request: control_pb2.ChangePasswordRequest,
        principal: Principal,
        context: grpc.aio.ServicerContext[control_pb2.ChangePasswordRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await self.engine.auth.change_password(
            principal, request.current_password, request.new_password
        )
        return common_pb2.Empty()

    @rpc("Auth", "ListMySessions")
    async def ListMySessions(
        self,
        request: common_pb2.Empty,
        principal: Principal,
        context: grpc.aio.ServicerContext[common_pb2.Empty, control_pb2.ListSessionsReply],
    ) -> control_pb2.ListSessionsReply:
        sessions = self.engine.auth.sessions(principal.operator_id, principal.token_digest)
        return control_pb2.ListSessionsReply(
            sessions=[
                control_pb2.SessionInfo(
                    id=s["id"],
                    created_at_ms=s["created_ms"],
                    expires_at_ms=s["expires_ms"],
                    current=s["current"],
                    name=s["name"],
                )
                for s in sessions
            ]
        )

    @rpc("Auth", "CreateApiToken")
    async def CreateApiToken(
        self,
        request: control_pb2.CreateApiTokenRequest,
        principal: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.CreateApiTokenRequest, control_pb2.LoginReply
        ],
    ) -> control_pb2.LoginReply:
        token, expires = await self.engine.auth.create_api_token(
            principal, request.name, request.days or 90
        )
        op = self.engine.directory.operator(principal.operator_id)
        return control_pb2.LoginReply(
            token=token, expires_at_ms=expires, operator=converters.operator_pb(op)
        )

    @rpc("Auth", "SetDisplayName")
    async def SetDisplayName(
        self,
        request: control_pb2.SetDisplayNameRequest,
        principal: Principal,
        context: grpc.aio.ServicerContext[control_pb2.SetDisplayNameRequest, control_pb2.Operator],
    ) -> control_pb2.Operator:
        op = await self.engine.directory.update_profile(
            principal.operator_id, display_name=request.display_name
        )
        return converters.operator_pb(op)

    @rpc("Auth", "SetAvatar")
    async def SetAvatar(
        self,
        request: control_pb2.SetAvatarRequest,
        principal: Principal,
        context: grpc.aio.ServicerContext[control_pb2.SetAvatarRequest, control_pb2.Operator],
    ) -> control_pb2.Operator:
        op = await self.engine.directory.update_profile(
            principal.operator_id, avatar_url=request.avatar_url
        )
        return converters.operator_pb(op)

    @rpc("Auth", "SetMyAutoAccept")
    async def SetMyAutoAccept(
        self,
        request: control_pb2.SetMyAutoAcceptRequest,
        principal: Principal,
        context: grpc.aio.ServicerContext[control_pb2.SetMyAutoAcceptRequest, control_pb2.Operator],
    ) -> control_pb2.Operator:
        op = await account.set_auto_accept(self.engine, principal, request.auto_accept)
        return converters.operator_pb(op)

    @rpc("Auth", "RevokeMySession")
    async def RevokeMySession(
        self,
        request: control_pb2.RevokeSessionRequest,
        principal: Principal,
        context: grpc.aio.ServicerContext[control_pb2.RevokeSessionRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await self.engine.auth.revoke_session(principal.operator_id, request.session_id)
        return common_pb2.Empty()
