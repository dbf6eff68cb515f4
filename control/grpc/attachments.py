"""The Attachments service: an operator sends a file to a chat it is in, a
piece per call, and reads a file of a chat it has in sight. It translates;
the rules are ``engine/attachments/``."""

from __future__ import annotations

from control.grpc.calls import Ctx, need, rpc
from engine.app import Engine
from engine.attachments import Upload
from engine.chat.auth import Principal
from engine.chat.events import FileRef
from engine.errors import InvalidArgument
from parley.v1 import common_pb2
from parley.v1 import control_pb2 as pb
from parley.v1 import control_pb2_grpc as grpc_pb

PIECE = 1024 * 1024  # bytes a call carries at most, either way


def attachment_pb(f: FileRef) -> common_pb2.Attachment:
    return common_pb2.Attachment(
        sha256=f.digest,
        name=f.name,
        content_type=f.content_type,
        size=f.size,
        width=f.width,
        height=f.height,
    )


class AttachmentsService(grpc_pb.AttachmentsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.attachments = engine.attachments

    @rpc("Attachments", "UploadAttachment")
    async def UploadAttachment(
        self, request: pb.UploadAttachmentRequest, p: Principal, context: Ctx
    ) -> pb.UploadAttachmentResponse:
        if len(request.data) > PIECE:
            raise InvalidArgument("invalid_argument", f"a call carries {PIECE} bytes at most")
        attachments = self.attachments
        upload: Upload
        if request.upload_id:
            conversation_id = need(request.conversation_id, "conversation_id")
            who = await attachments.operator(p, conversation_id)
            upload = attachments.take(request.upload_id, who)
            upload_id = request.upload_id
        else:
            conversation_id = need(request.conversation_id, "conversation_id")
            who = await attachments.operator(p, conversation_id)
            upload = await attachments.begin(
                who, conversation_id, request.name, request.size, request.client_msg_id
            )
            upload_id = attachments.hold(upload)
        if request.offset != upload.received:
            raise InvalidArgument("bad_offset", f"the next byte is at offset {upload.received}")
        try:
            attachments.add(upload, request.data)
        except InvalidArgument:
            attachments.release(upload_id)
            attachments.abort(upload)
            raise
        if upload.received < upload.size:
            return pb.UploadAttachmentResponse(upload_id=upload_id, received=upload.received)
        attachments.release(upload_id)
        seq, ref = await attachments.finish(upload)
        return pb.UploadAttachmentResponse(
            upload_id=upload_id, received=ref.size, seq=seq, attachment=attachment_pb(ref)
        )

    @rpc("Attachments", "DownloadAttachment")
    async def DownloadAttachment(
        self, request: pb.DownloadAttachmentRequest, p: Principal, context: Ctx
    ) -> pb.DownloadAttachmentResponse:
        conversation_id = need(request.conversation_id, "conversation_id")
        who = self.attachments.operator_reader(p, conversation_id)
        ref, data = self.attachments.read(who, conversation_id, request.sha256)
        limit = min(request.limit or PIECE, PIECE)
        piece = data[request.offset : request.offset + limit]
        return pb.DownloadAttachmentResponse(attachment=attachment_pb(ref), data=piece)
