"""Durable storage: one LMDB environment, a group-commit writer, snapshots."""

from engine.persistence.lmdb_store import DataDirLocked, LmdbStore, StoreFull

__all__ = ["DataDirLocked", "LmdbStore", "StoreFull"]
