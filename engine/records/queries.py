"""Reading the history index: filtered, sorted lists and text search, by pages.

Pure SQL over one read connection (``engine/records/index.py`` makes the file);
who may see what is decided before, in ``engine/records/history.py``, and comes
here as a :class:`Filters` (the sites of the caller's account, and the scope).
Pages are keyset pages: each order is a total order on keys that never change
for a chat (its start time and id; the rating and the operator it ended with
change only while it is open or until it is rated), and a page starts strictly
after the last key of the previous one, so chats closing while a client pages
neither repeat nor hide others.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from engine.records.rows import ConversationRow

BREAK = "\x1f"  # between a passage's messages (engine/records/index.py)

ORDERS = ("time", "operator", "rating")
Key = tuple[Any, ...]

_COLUMNS = (
    "c.id, c.site, c.dept, c.visitor, c.visitor_name, c.status, c.operators, c.created_ms,"
    " c.closed_ms, c.ended, c.closed_by, c.missed, c.rating, c.comment, c.message_count,"
    " c.operator_name"
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a list or a search keeps: every field narrows (empty: any)."""

    sites: tuple[str, ...]  # the sites looked in (the caller's account's, or one)
    scope: str = "all"  # all | department | own: the caller's sight
    me: str = ""  # the caller, who always sees the chats it took part in
    my_departments: tuple[str, ...] = ()
    department_id: str = ""
    operator_id: str = ""  # took part in the chat
    visitor_id: str = ""
    statuses: tuple[str, ...] = ()
    ended: tuple[str, ...] = ()  # rows.ENDED_FILTERS
    ratings: tuple[int, ...] = ()  # 0: not rated
    from_ms: int = 0  # started at or after
    to_ms: int = 0  # started before (0: no end)


def _where(f: Filters) -> tuple[list[str], list[Any]]:
    clauses: list[str] = [f"c.site IN ({','.join('?' * len(f.sites))})"]
    params: list[Any] = list(f.sites)
    mine = "c.id IN (SELECT conv FROM participants WHERE operator = ?)"
    if f.scope == "own":
        clauses.append(mine)
        params.append(f.me)
    elif f.scope == "department":
        depts = ",".join("?" * len(f.my_departments))
        clauses.append(f"(c.dept IN ({depts}) OR {mine})")
        params += [*f.my_departments, f.me]
    if f.department_id:
        clauses.append("c.dept = ?")
        params.append(f.department_id)
    if f.operator_id:
        clauses.append("c.id IN (SELECT conv FROM participants WHERE operator = ?)")
        params.append(f.operator_id)
    if f.visitor_id:
        clauses.append("c.visitor = ?")
        params.append(f.visitor_id)
    if f.statuses:
        clauses.append(f"c.status IN ({','.join('?' * len(f.statuses))})")
        params += f.statuses
    if f.ended:
        ended = [e for e in f.ended if e != "missed"]
        either = []
        if ended:
            either.append(f"c.ended IN ({','.join('?' * len(ended))})")
            params += ended
        if "missed" in f.ended:
            either.append("c.missed = 1")
        clauses.append(f"({' OR '.join(either)})")
    if f.ratings:
        clauses.append(f"c.rating IN ({','.join('?' * len(f.ratings))})")
        params += f.ratings
    if f.from_ms:
        clauses.append("c.created_ms >= ?")
        params.append(f.from_ms)
    if f.to_ms:
        clauses.append("c.created_ms < ?")
        params.append(f.to_ms)
    return clauses, params


def row_from(values: tuple[Any, ...]) -> ConversationRow:
    return ConversationRow(
        id=values[0],
        site_id=values[1],
        department_id=values[2],
        visitor_id=values[3],
        visitor_name=values[4],
        status=values[5],
        operators=tuple((i, n) for i, n in orjson.loads(values[6])),
        created_ms=values[7],
        closed_ms=values[8],
        ended=values[9],
        closed_by=values[10],
        missed=bool(values[11]),
        rating=values[12],
        comment=values[13],
        message_count=values[14],
    )


def list_key(order: str, row: ConversationRow) -> Key:
    """The page key of a row in ``order``."""
    if order == "rating":
        return (row.rating, row.created_ms, row.id)
    if order == "operator":
        return (row.operator_name, row.created_ms, row.id)
    return (row.created_ms, row.id)


_ORDER_BY = {
    "time": "c.created_ms DESC, c.id DESC",
    "rating": "c.rating DESC, c.created_ms DESC, c.id DESC",
    "operator": "c.operator_name ASC, c.created_ms DESC, c.id DESC",
}
_AFTER = {
    "time": "(c.created_ms, c.id) < (?, ?)",
    "rating": "(c.rating, c.created_ms, c.id) < (?, ?, ?)",
    "operator": "(c.operator_name > ? OR (c.operator_name = ? AND (c.created_ms, c.id) < (?, ?)))",
}


def list_rows(
    conn: sqlite3.Connection, f: Filters, order: str, after: Key | None, limit: int
) -> list[ConversationRow]:
    """Up to ``limit`` rows in ``order``, after the key ``after``."""
    if not f.sites:
        return []
    clauses, params = _where(f)
    if after is not None:
        clauses.append(_AFTER[order])
        params += [after[0], *after] if order == "operator" else list(after)
    sql = (
        f"SELECT {_COLUMNS} FROM conversations c WHERE {' AND '.join(clauses)}"
        f" ORDER BY {_ORDER_BY[order]} LIMIT ?"
    )
    return [row_from(v) for v in conn.execute(sql, (*params, limit))]


@dataclass(frozen=True, slots=True)
class Hit:
    """A message matching a search: its chat, its seq and the text around the match."""

    conversation: ConversationRow
    seq: int
    snippet: str


def match_expression(text: str) -> str:
    """A user's words as an FTS5 query: every word must appear (the last one
    as a prefix, for search as one types). Empty when there are no words."""
    words = re.findall(r"\w+", text)
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search(
    conn: sqlite3.Connection, f: Filters, expression: str, after: Key | None, limit: int
) -> list[Hit]:
    """Messages matching ``expression`` (match_expression), newest chat first,
    then by seq; ``after`` is the (created_ms, id, seq) of the last hit given.

    The text index holds passages (a few messages a row: ``index.passages``),
    so the search reads them in pages of the same order and asks FTS5 again of
    each message of a passage that matched, on a small table of the
    connection's own: a message is a hit exactly when it matches alone, with
    the same tokenizer, and its snippet is its own."""
    if not f.sites or limit <= 0:
        return []
    clauses, params = _where(f)
    sql = (
        f"SELECT {_COLUMNS}, m.seqs, m.text, m.last"
        " FROM message_text m JOIN conversations c ON c.id = m.conv"
        f" WHERE message_text MATCH ? AND {' AND '.join(clauses)}"
        " AND ((c.created_ms, c.id) < (?, ?) OR (c.id = ? AND m.last > ?))"
        " ORDER BY c.created_ms DESC, c.id DESC, m.seq ASC LIMIT ?"
    )
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.probe USING fts5(text,"
        " tokenize = 'unicode61 remove_diacritics 2')"
    )
    cursor = after if after is not None else (1 << 62, "\U0010ffff", 0)
    chunk = max(50, 2 * limit)
    hits: list[Hit] = []
    while len(hits) < limit:
        found = conn.execute(
            sql, (expression, *params, cursor[0], cursor[1], cursor[1], cursor[2], chunk)
        ).fetchall()
        if not found:
            break
        conn.execute("DELETE FROM temp.probe")
        messages: list[tuple[ConversationRow, int]] = []
        probe: list[tuple[int, str]] = []
        for v in found:
            row = row_from(v[:15])
            skip = cursor[2] if row.id == cursor[1] else 0  # the page before ended inside
            for seq, text in zip(v[16].split(" "), v[17].split(BREAK), strict=True):
                if int(seq) > skip:
                    probe.append((len(messages), text))
                    messages.append((row, int(seq)))
        conn.executemany("INSERT INTO temp.probe(rowid, text) VALUES (?, ?)", probe)
        for i, snip in conn.execute(
            "SELECT rowid, snippet(probe, 0, '[', ']', '...', 12) FROM temp.probe"
            " WHERE probe MATCH ? ORDER BY rowid LIMIT ?",
            (expression, limit - len(hits)),
        ):
            row, seq = messages[i]
            hits.append(Hit(row, seq, snip))
        last = found[-1]
        cursor = (last[7], last[0], int(last[18]))
        if len(found) < chunk:
            break
    return hits


def hit_key(hit: Hit) -> Key:
    return (hit.conversation.created_ms, hit.conversation.id, hit.seq)
