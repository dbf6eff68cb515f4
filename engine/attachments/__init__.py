"""Files attached to chats: stored outside the journal, content-addressed, typed
by their bytes, limited per site (``service.py``; the disk side in ``store.py``,
the type checks in ``sniff.py``)."""

from engine.attachments.service import Attachments, Upload, Uploader
from engine.attachments.store import FileStore

__all__ = ["Attachments", "FileStore", "Upload", "Uploader"]
