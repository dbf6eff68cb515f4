"""Split mode: edge processes linked to the engine by one batched gRPC stream each.

``host`` and ``service`` run in the engine process (the sessions of every edge's
visitors, the link's servicer); ``client``, ``visitor`` and ``listener`` run in
an edge process (the stream to the engine, the visitor websockets, the HTTP
listener); ``secret`` is the shared secret both ends read.
"""
