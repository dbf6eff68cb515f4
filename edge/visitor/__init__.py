"""The visitor protocol (version 1): JSON frames over a websocket, sans I/O."""
