"""Records derived from the store: the conversation history's index (SQLite)."""
