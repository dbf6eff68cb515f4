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
SLOT_BITS = 21  # a passage's rowid: its chat's start ms above these bits, a slot below

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


def _where(f: Filters, site: str | None = None) -> tuple[list[str], list[Any]]:
    """The filters as SQL on ``c`` (the conversations); ``site``: this one only."""
    if site is not None:
        clauses: list[str] = ["c.site = ?"]
        params: list[Any] = [site]
    else:
        clauses = [f"c.site IN ({','.join('?' * len(f.sites))})"]
        params = list(f.sites)
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
    # The first term bounds the index's range; the rest is the strict keyset.
    "operator": "c.operator_name >= ? AND (c.operator_name > ? OR (c.created_ms, c.id) < (?, ?))",
}


def list_rows(
    conn: sqlite3.Connection, f: Filters, order: str, after: Key | None, limit: int
) -> list[ConversationRow]:
    """Up to ``limit`` rows in ``order``, after the key ``after``.

    Each site is asked apart (an account has a few) and the pages merged: with
    one site the index of the order (``conv_site_time``, ``conv_site_rating``,
    ``conv_site_operator``) yields rows already sorted, so a page reads about
    its own rows and those the filters skip, where ``site IN (...)`` would
    read every row of the sites and sort them."""
    if not f.sites or limit <= 0:
        return []
    found: list[tuple[Any, ...]] = []
    for site in dict.fromkeys(f.sites):
        source, source_params = _source(conn, f, site, order)
        clauses, params = _where(f, site)
        if after is not None:
            clauses.append(_AFTER[order])
            params += [after[0], *after] if order == "operator" else list(after)
        sql = (
            f"SELECT {_COLUMNS} FROM {source}"
            f" WHERE {' AND '.join(clauses)} ORDER BY {_ORDER_BY[order]} LIMIT ?"
        )
        found += conn.execute(sql, (*source_params, *params, limit)).fetchall()
    rows = [row_from(v) for v in found]
    if len(f.sites) > 1:
        rows.sort(key=lambda r: _sort_key(order, r))
    return rows[:limit]


_INDEX = {"time": "conv_site_time", "rating": "conv_site_rating", "operator": "conv_site_operator"}
FEW = 2_000  # rows a list reads and sorts rather than walk an index in order


def _source(conn: sqlite3.Connection, f: Filters, site: str, order: str) -> tuple[str, list[Any]]:
    """Where a list's rows come from, chosen here rather than by SQLite's
    planner (which has no statistics of the index and, with ``site = ?`` on
    every index, would walk a whole site in order for a visitor's three
    chats, or for a rating no chat of the site has): the narrowest of a
    visitor's chats, one operator's, the ratings', the department's, the
    statuses' and the time range when it holds fewer than :data:`FEW` rows
    (read, then sorted), else the index of the order (read in order,
    stopping at the page's end; filters each broad that together keep
    almost nothing still walk far). Counting stops at FEW, so choosing
    costs little."""
    paths: list[tuple[str, str, list[Any]]] = []  # (its rows' SQL, source, parameters)
    if f.visitor_id:
        paths.append(
            (
                "SELECT 1 FROM conversations INDEXED BY conv_visitor"
                " WHERE visitor = ? AND site = ?",
                "conversations c INDEXED BY conv_visitor",
                [f.visitor_id, site],
            )
        )
    for person in dict.fromkeys(p for p in (f.operator_id, f.me if f.scope == "own" else "") if p):
        paths.append(
            (
                "SELECT 1 FROM participants WHERE operator = ?",
                "(SELECT DISTINCT conv FROM participants WHERE operator = ?) p"
                " CROSS JOIN conversations c ON c.id = p.conv",
                [person],
            )
        )
    for column, values, index in (
        ("rating", f.ratings, "conv_site_rating"),
        ("dept", (f.department_id,) if f.department_id else (), "conv_site_dept"),
        ("status", f.statuses, "conv_site_status"),
    ):
        if values and not (column == "rating" and order == "rating"):
            paths.append(
                (
                    f"SELECT 1 FROM conversations INDEXED BY {index} WHERE site = ?"
                    f" AND {column} IN ({','.join('?' * len(values))})",
                    f"conversations c INDEXED BY {index}",
                    [site, *values],
                )
            )
    if (f.from_ms or f.to_ms) and order != "time":
        paths.append(
            (
                "SELECT 1 FROM conversations INDEXED BY conv_site_time"
                " WHERE site = ? AND created_ms >= ? AND created_ms < ?",
                "conversations c INDEXED BY conv_site_time",
                [site, f.from_ms, f.to_ms or _LAST_ROWID],
            )
        )
    best: tuple[int, str, list[Any]] | None = None
    for rows_sql, source, params in paths:
        n = conn.execute(f"SELECT count(*) FROM ({rows_sql} LIMIT {FEW})", params).fetchone()[0]
        if n < FEW and (best is None or n < best[0]):
            # The source's own parameters: only the participants' subquery has any.
            best = (n, source, params if source.startswith("(") else [])
    if best is not None:
        return best[1], best[2]
    return f"conversations c INDEXED BY {_INDEX[order]}", []


def _sort_key(order: str, row: ConversationRow) -> Key:
    """The list's order as an ascending key (ids compared by code point, as SQLite does)."""
    desc_id = tuple(-ord(ch) for ch in row.id) + (1,)
    if order == "rating":
        return (-row.rating, -row.created_ms, desc_id)
    if order == "operator":
        return (row.operator_name, -row.created_ms, desc_id)
    return (-row.created_ms, desc_id)


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


def text_rowid(created_ms: int, slot: int) -> int:
    """The rowid of a passage of a chat started at ``created_ms``: rowids follow
    start times, so FTS5 hands a search its matches newest first."""
    return (created_ms << SLOT_BITS) | slot


_LAST_ROWID = (1 << 63) - 1


def search(
    conn: sqlite3.Connection, f: Filters, expression: str, after: Key | None, limit: int
) -> list[Hit]:
    """Messages matching ``expression`` (match_expression), newest chat first,
    then by seq; ``after`` is the (created_ms, id, seq) of the last hit given.

    A passage's rowid holds its chat's start time (:func:`text_rowid`), so FTS5
    gives the matching passages newest first (``ORDER BY rowid DESC``, a
    doclist read backwards) and the search stops after a page: a common word
    costs a page, not every passage holding it. Passages of one start time
    (one ms: few) are read whole and put in the page's order, by id
    descending and seq. A passage holds a few messages (``index.passages``):
    each message of the page's passages is asked again of FTS5, on a small
    table of the connection's own, and is a hit exactly when it matches alone
    (same tokenizer); its snippet is its own. The time range bounds the
    rowids read."""
    if not f.sites or limit <= 0:
        return []
    clauses, params = _where(f)
    sql = (
        f"SELECT m.rowid, {_COLUMNS}, m.seqs, m.text"
        " FROM message_text m JOIN conversations c ON c.id = m.conv"
        " WHERE message_text MATCH ? AND m.rowid >= ? AND m.rowid < ?"
        f" AND {' AND '.join(clauses)} ORDER BY m.rowid DESC"
    )
    low = text_rowid(f.from_ms, 0)
    high = text_rowid(f.to_ms, 0) if f.to_ms else _LAST_ROWID
    if after is not None:
        high = min(high, text_rowid(after[0] + 1, 0))
    chunk = limit + 1  # a passage holds a hit or more (its words in one message)
    hits: list[Hit] = []
    while len(hits) < limit and high > low:
        found = conn.execute(f"{sql} LIMIT ?", (expression, low, high, *params, chunk)).fetchall()
        if not found:
            break
        if len(found) < chunk:  # every match left
            high = low
            hits += _hits(conn, expression, found, after, limit - len(hits))
            break
        # The last start time read may go on past the chunk: the start times
        # before it are whole and come first; it is read to its end only if
        # the page still needs it (it seldom does: a passage holds a hit).
        edge = text_rowid(found[-1][0] >> SLOT_BITS, 0)
        whole = [v for v in found if v[0] >= edge + (1 << SLOT_BITS)]
        hits += _hits(conn, expression, whole, after, limit - len(hits))
        if len(hits) >= limit:
            break
        rest = [v for v in found if v[0] < edge + (1 << SLOT_BITS)]
        rest += conn.execute(sql, (expression, edge, found[-1][0], *params)).fetchall()
        hits += _hits(conn, expression, rest, after, limit - len(hits))
        high = edge
        chunk = min(max(chunk * 2, 2 * (limit - len(hits)) + 1), 4096)  # filters skip many
    return hits[:limit]


def _hits(
    conn: sqlite3.Connection,
    expression: str,
    found: list[tuple[Any, ...]],
    after: Key | None,
    limit: int,
) -> list[Hit]:
    """The first ``limit`` hits of these passages (whole start times), in the
    search's order, after the key ``after``."""
    if not found or limit <= 0:
        return []
    found.sort(key=lambda v: int(v[17].split(" ", 1)[0]))  # seq ascending, then
    found.sort(key=lambda v: (v[8], v[1]), reverse=True)  # newest chat first (stable)
    messages: list[tuple[ConversationRow, int, str]] = []
    for v in found:
        seq_skip = 0
        if after is not None and (v[8], v[1]) >= (after[0], after[1]):
            if v[1] != after[1]:
                continue  # given on an earlier page
            seq_skip = after[2]  # the page before ended inside this chat
        row = row_from(v[1:16])
        for seq, text in zip(v[17].split(" "), v[18].split(BREAK), strict=True):
            if int(seq) > seq_skip:
                messages.append((row, int(seq), text))
    return _probe(conn, expression, messages, limit)


def _probe(
    conn: sqlite3.Connection,
    expression: str,
    messages: list[tuple[ConversationRow, int, str]],
    limit: int,
) -> list[Hit]:
    """The first ``limit`` of these messages that match alone, with their snippets."""
    if not messages:
        return []
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.probe USING fts5(text,"
        " tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.execute("DELETE FROM temp.probe")
    # One statement of many rows: one transaction of the temporary table, not
    # one a row (each would flush FTS5's segment).
    per = 10_000
    for i in range(0, len(messages), per):
        part = messages[i : i + per]
        conn.execute(
            f"INSERT INTO temp.probe(rowid, text) VALUES {','.join(['(?, ?)'] * len(part))}",
            [x for n, (_r, _s, text) in enumerate(part, i) for x in (n, text)],
        )
    hits = []
    for i, snip in conn.execute(
        "SELECT rowid, snippet(probe, 0, '[', ']', '...', 12) FROM temp.probe"
        " WHERE probe MATCH ? ORDER BY rowid LIMIT ?",
        (expression, limit),
    ):
        row, seq, _text = messages[i]
        hits.append(Hit(row, seq, snip))
    return hits


def hit_key(hit: Hit) -> Key:
    return (hit.conversation.created_ms, hit.conversation.id, hit.seq)
