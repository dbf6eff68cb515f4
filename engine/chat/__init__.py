"""The chat domain: records, actors (visitor, conversation, operator, department
queue), the sessions that front ends drive, and pure policies."""
