"""The operators' web bridge: a console in a browser reaches the gRPC API over
one websocket (``/v1/console``) of binary frames carrying the API's own
messages (the contract: ``proto/parley/v1/bridge.proto``). ``protocol`` judges
and builds frames without I/O, ``connection`` is the picows glue of one console,
``relay`` the shared channel to the API, ``origin`` the check before the
upgrade, ``codes`` the close codes."""
