"""Edge settings, typed and validated where they are used."""

from __future__ import annotations

from dataclasses import dataclass

from edge.bridge import protocol as bridge
from edge.visitor.protocol import RATE_BURST, RATE_PER_SECOND


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    hello_timeout: float = 10.0  # seconds to send hello after connecting
    idle_timeout: float = 120.0  # ping a silent connection after this long
    visitor_rate: float = RATE_PER_SECOND
    visitor_burst: float = RATE_BURST
    hard_frame_limit: int = 64 * 1024  # above this picows closes with 1009
    send_buffer_limit: int = 1024 * 1024  # unread bytes before a visitor is dropped
    max_per_ip: int = 200  # visitor connections from one address (offices share one)
    ip_rate: float = 500.0  # frames per second from one address, all its connections
    ip_burst: float = 1000.0
    demo_site: str = ""  # site id the demo page embeds, if any
    # The operators' web bridge (/v1/console):
    console_origins: tuple[str, ...] = ()  # pages elsewhere that may open it (own origin may)
    console_engine: str = ""  # the gRPC API's address; "": this process's own gRPC port
    console_rate: float = bridge.RATE_PER_SECOND  # frames a second from one console
    console_burst: float = bridge.RATE_BURST
    console_frame_limit: int = bridge.MAX_FRAME  # bytes in one frame from a console
    console_send_buffer: int = 256 * 1024  # unsent bytes before the stream is read no more
    console_stall_seconds: float = 30.0  # reading nothing this long past the buffer: cut
    console_pending_limit: int = 1024 * 1024  # command bytes waiting for the stream
    console_calls: int = 16  # unary calls under way at once per console
    # Connections the kernel holds for the listener before they are accepted (a
    # burst of visitors arriving at once); the kernel caps it at net.core.somaxconn.
    backlog: int = 1024

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0-65535, got {self.port}")
        if self.hello_timeout <= 0:
            raise ValueError("hello_timeout must be positive")
        if self.backlog < 1:
            raise ValueError("backlog must be at least 1")
        if self.idle_timeout <= 0:
            raise ValueError("idle_timeout must be positive")
        if self.visitor_rate <= 0 or self.visitor_burst < 1:
            raise ValueError("visitor_rate must be positive and visitor_burst at least 1")
        if self.ip_rate <= 0 or self.ip_burst < 1:
            raise ValueError("ip_rate must be positive and ip_burst at least 1")
        if self.max_per_ip < 1:
            raise ValueError("max_per_ip must be at least 1")
        if self.send_buffer_limit < 64 * 1024:
            raise ValueError("send_buffer_limit must be at least 64 KiB")
        if self.hard_frame_limit < 16 * 1024:
            raise ValueError("hard_frame_limit must be at least 16 KiB")
        if self.console_rate <= 0 or self.console_burst < 1:
            raise ValueError("console_rate must be positive and console_burst at least 1")
        if not 1024 <= self.console_frame_limit <= self.hard_frame_limit:
            raise ValueError("console_frame_limit must be from 1 KiB to hard_frame_limit")
        if self.console_send_buffer < 16 * 1024:
            raise ValueError("console_send_buffer must be at least 16 KiB")
        if self.console_pending_limit < self.console_frame_limit:
            raise ValueError("console_pending_limit must be at least console_frame_limit")
        if self.console_stall_seconds <= 0:
            raise ValueError("console_stall_seconds must be positive")
        if self.console_calls < 1:
            raise ValueError("console_calls must be at least 1")
        for origin in self.console_origins:
            if "://" not in origin or origin != origin.rstrip("/").lower():
                raise ValueError(
                    f"console_origins: {origin!r} is not an origin like https://host:port"
                )
