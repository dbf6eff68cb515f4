"""Parley's engine: the actor runtime, the chat actors and the LMDB store.

The engine imports nothing from ``edge`` or ``control``; they use what it exports.
"""
