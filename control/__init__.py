"""The control plane: gRPC services, the admin CLI and the ``parley`` command."""
