"""The copies of bench/load.py, made fast enough for 1,000,000 referrals (issue 16).

Each template row is compiled once into one value generator per column: a constant (already in
COPY text form), an id moved by `r * span`, a time moved by `r * step`, a text whose references
(`referral:42`) move with the copy, a phone or VIN made unique. A block of copies is then made
column-wise (one list comprehension per varying column) and written as COPY text lines in copy order
(r-major, so rows lie on disk in id and time order as the app would have written them). The audit
chain is the only sequential part: each event's canonical text is split once around the fields that
change (seq, time, entity id, previous hash) and only the HMAC is computed per copy.
"""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from itertools import chain, repeat
from types import SimpleNamespace

from psycopg.copy import QueuedLibpqWriter

from loyalty.canonical import canonical_json

BLOCK = 500  # copies made and written at a time
_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_EPOCH, _US = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)


def esc(value: str) -> str:
    return value.translate(_SPECIAL) if ("\\" in value or "\t" in value or "\n" in value or "\r" in value) else value


def const(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        return esc(canonical_json(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return esc(str(value))


class Plan:
    """How to make the copies of one table's template rows."""

    def __init__(self, copier, table: str, links: dict, time_cols: set, str_cols: set, json_cols: set, cols: list):
        self.c, self.table, self.cols = copier, table, cols
        self.links, self.time_cols, self.str_cols, self.json_cols = links, time_cols, str_cols, json_cols

    def column(self, row: dict, col: str):
        """A constant string, or a function of (block start index, copies r list) giving one string per copy."""
        c, value = self.c, row[col]
        if col == "id" or col in self.links:
            target = self.table if col == "id" else self.links[col]
            if value is None or value <= c.base.get(target, 0) or value in c.shared[target]:
                return const(value)
            span = c.span[target]
            return lambda rs: [str(value + span * r) for r in rs]
        if col in self.time_cols and value is not None:
            return lambda rs: [(value + c.step * r).isoformat(timespec="microseconds") for r in rs]
        if col in self.json_cols:
            return "\\N" if value is None else esc(canonical_json(value))
        if col in self.str_cols and isinstance(value, str):
            return self.text(value)
        return const(value)

    def text(self, value: str):
        from bench.load import ENTITY_TABLE, REF_TEXT
        matches = list(REF_TEXT.finditer(value))
        refs, lits, at = [], [], 0
        for m in matches:
            table = ENTITY_TABLE[m[1]]
            old = int(m[3])
            if old <= self.c.base.get(table, 0) or old in self.c.shared[table]:
                continue
            lits.append(esc(value[at:m.start(3)]))
            refs.append((old, self.c.span[table]))
            at = m.end(3)
        if not refs:
            return esc(value)
        tail = esc(value[at:])
        if len(refs) == 1:
            (old, span), head = refs[0], lits[0]
            return lambda rs: [f"{head}{old + span * r}{tail}" for r in rs]
        return lambda rs: ["".join(chain.from_iterable(zip(lits, (str(o + s * r) for o, s in refs)))) + tail
                           for r in rs]


def _lines(gens: list, rs: range) -> list[str]:
    """One row's COPY lines for the copies rs."""
    n = len(rs)
    return list(map("\t".join, zip(*[repeat(g, n) if isinstance(g, str) else g(rs) for g in gens])))


def write_block(cp, per_row: list[list[str]]) -> int:
    """Rows of a block interleaved copy by copy (r-major), as one COPY chunk."""
    lines = list(chain.from_iterable(zip(*per_row)))
    if lines:
        cp.write("\n".join(lines) + "\n")
    return len(lines)


class AuditChain:
    """The events of the copies in seq order. An event sealed when written (migration 0011c: `mac`
    over its content and id) is resealed per copy (its id moves) and linked by the key's HMAC over
    its place and seal; an older one carries the HMAC over its canonical text."""

    SEQ = 987654321987654321
    ID = 876543218765432187

    def __init__(self, canonical, mac, seq: int, head: str, sealed=None, seal=None):
        self.canonical, self.mac, self.seq, self.head = canonical, mac, seq, head
        self.sealed, self.seal = sealed, seal  # formats._sealed and an Hmac under the event key

    def split(self, row: dict, moved_eid: bool) -> list:
        """The template event's canonical text (its sealed text, when it has a seal) cut around the
        fields that change per copy."""
        class At:
            def isoformat(self, **_kw):
                return "\ue000AT\ue000"
        body = dict(row, seq=self.SEQ, id=self.ID, at=At(), prev_hash="\ue000PREV\ue000")
        if moved_eid:
            body["entity_id"] = "\ue000EID\ue000"
        text = (self.sealed if row.get("mac") else self.canonical)(SimpleNamespace(**body)).decode()
        text = text.replace(str(self.SEQ), "\ue000SEQ\ue000").replace(str(self.ID), "\ue000ID\ue000")
        parts = re.split("\ue000(AT|EID|PREV|SEQ|ID)\ue000", text)
        assert "\ue000" not in "".join(parts[::2]), "a canonical field changes per copy unexpectedly"
        return parts


def make_plan(copier, table: str, md) -> Plan:
    t = md.tables[table]
    cols = [c.name for c in t.c]
    from bench.load import EXTRA_LINKS
    links = {c.name: next(iter(c.foreign_keys)).column.table.name for c in t.c if c.foreign_keys}
    links.update({c: EXTRA_LINKS[c] for c in cols if c in EXTRA_LINKS})
    json_cols = {c.name for c in t.c if c.type.__class__.__name__ in ("JSON", "JSONB")}
    time_cols = {c.name for c in t.c if "DateTime" in c.type.__class__.__name__}
    str_cols = {c.name for c in t.c if c.type.__class__.__name__ in ("String", "Text", "Unicode")} - {"phone"}
    return Plan(copier, table, links, time_cols, str_cols, json_cols, cols)


def copy_table(c, table: str, md, override=None, audit: AuditChain | None = None, mac=None) -> int:
    """Writes every copy of the table's template rows (id > base) with COPY; the number written.

    `override(row)` gives {column: generator} for values made unique per copy (phones, VINs);
    `audit` makes the table the audit chain; `mac` makes it the transfers (each one's digest)."""
    plan = make_plan(c, table, md)
    cols = plan.cols
    rows = [dict(zip(cols, row)) for row in c.conn.execute(
        f"SELECT {', '.join(cols)} FROM {table} WHERE id > %s ORDER BY id", (c.base[table],))]
    rows = [row for row in rows if row["id"] not in c.shared[table]]
    if audit is not None:
        from bench.load import WORLD_ENTITIES
        rows = [row for row in rows if row["entity"] not in WORLD_ENTITIES]
    gens = []
    for row in rows:
        g = {col: plan.column(row, col) for col in cols}
        if override is not None:
            g.update(override(row))
        gens.append(g)
    extra = _audit_parts(c, rows, gens, audit) if audit is not None else None
    if mac is not None:
        transfer_keys = {row["id"]: g["key"] for row, g in zip(rows, gens)}
    rebuild = _drop_indexes(c.conn, table)
    written, clock = 0, time.perf_counter()
    cursor = c.conn.cursor()  # a writer thread sends while the next block is made
    with cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN", writer=QueuedLibpqWriter(cursor)) as cp:
        for start in range(1, c.copies + 1, BLOCK):
            rs = range(start, min(start + BLOCK, c.copies + 1))
            if audit is not None:
                _chain_block(audit, rows, gens, extra, rs)
            if mac is not None:
                _digest_block(c, rows, gens, transfer_keys, mac, rs)
            block = [_lines([g[col] for col in cols], rs) for g in gens]
            now = time.perf_counter()
            c.timing["python"] += now - clock
            written += write_block(cp, block)
            clock = time.perf_counter()
            c.timing["copy"] += clock - now
    c.timing["copy"] += time.perf_counter() - clock  # the end of COPY: the rows not sent yet
    clock = time.perf_counter()
    for statement in rebuild:
        c.conn.execute(statement)
    c.timing["indexes"] += time.perf_counter() - clock
    return written


def _drop_indexes(conn, table: str) -> list[str]:
    """Drops the table's indexes and unique constraints but its primary key (rows arrive in id order);
    gives the statements that build them again. One sorted build after COPY costs a tenth of keeping
    them up to date row by row (random hashes in unique indexes)."""
    constraints = conn.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                               "WHERE conrelid = %s::regclass AND contype IN ('u', 'x')", (table,)).fetchall()
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)",
        (table,)).fetchall()
    for name, _ in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return ([f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {d}' for name, d in constraints]
            + [d for _, d in indexes])


def _materialise(gen, rs) -> list[str]:
    return [gen] * len(rs) if isinstance(gen, str) else gen(rs)


def _audit_parts(c, rows, gens, audit: AuditChain) -> list:
    from bench.load import ENTITY_TABLE
    parts = []
    for row, g in zip(rows, gens):
        moved = row["entity"] in ENTITY_TABLE and str(row["entity_id"]).isdigit()
        if moved:
            old, table = int(row["entity_id"]), ENTITY_TABLE[row["entity"]]
            if old <= c.base.get(table, 0) or old in c.shared[table]:
                moved = False
            else:
                span = c.span[table]
                g["entity_id"] = lambda rs, old=old, span=span: [str(old + span * r) for r in rs]
        for col in g:  # nothing else of the canonical text may change per copy
            if col not in ("id", "seq", "prev_hash", "hash", "at", "entity_id", "mac") and not isinstance(g[col], str):
                raise AssertionError(f"audit event column {col} changes per copy")
        p = audit.split(row, moved)
        parts.append((p[0::2], p[1::2]))
    return parts


def _chain_block(audit: AuditChain, rows, gens, parts, rs) -> None:
    n = len(rs)
    ats = [_materialise(g["at"], rs) for g in gens]
    eids = [_materialise(g["entity_id"], rs) for g in gens]
    ids = [_materialise(g["id"], rs) for g in gens]
    sealed = [bool(row.get("mac")) for row in rows]
    seqs = [[""] * n for _ in rows]
    prevs = [[""] * n for _ in rows]
    hashes = [[""] * n for _ in rows]
    macs = [[""] * n if s else None for s in sealed]
    seq, head, hexdigest = audit.seq, audit.head, audit.mac.hexdigest
    for j in range(n):
        for e, (lits, kinds) in enumerate(parts):
            seq += 1
            vals = {"AT": ats[e][j], "EID": eids[e][j], "PREV": head, "SEQ": str(seq), "ID": ids[e][j]}
            text = lits[0] + "".join(vals[k] + lit for k, lit in zip(kinds, lits[1:]))
            seqs[e][j], prevs[e][j] = vals["SEQ"], head
            if sealed[e]:
                mac = macs[e][j] = audit.seal.hexdigest(text.encode())
                head = hashes[e][j] = hexdigest(f'["audit-link",{seq},"{head}","{mac}"]'.encode())
            else:
                head = hashes[e][j] = hexdigest(text.encode())
    audit.seq, audit.head = seq, head
    for e, g in enumerate(gens):
        g["seq"] = lambda _rs, v=seqs[e]: v
        g["prev_hash"] = lambda _rs, v=prevs[e]: v
        g["hash"] = lambda _rs, v=hashes[e]: v
        if macs[e] is not None:
            g["mac"] = lambda _rs, v=macs[e]: v


def _digest_block(c, rows, gens, transfer_keys, mac, rs) -> None:
    from loyalty.ledger import digests
    step_us = c.step // _US

    def raw(gen):
        return [None if v == "\\N" else v for v in _materialise(gen, rs)]
    keys = {tid: _materialise(k, rs) for tid, k in transfer_keys.items()}
    for row, g in zip(rows, gens):
        pid = row["pending_id"]
        if pid is None:
            pending = [None] * len(rs)
        elif pid in keys:
            pending = keys[pid]
        else:
            pending = [c.keys[pid]] * len(rs)
        at0 = (row["at"] - _EPOCH) // _US
        digest = [mac.hexdigest(digests._message(k, kind, d, cr, a, u, pk, reason, subj, batch, actor,
                                                 at0 + step_us * r).encode())
                  for k, kind, d, cr, a, u, pk, reason, subj, batch, actor, r in zip(
                      keys[row["id"]], *(raw(g[col]) for col in ("kind", "debit_account_id", "credit_account_id",
                                                                   "amount", "unit")),
                      pending, *(raw(g[col]) for col in ("reason", "subject", "batch", "actor_id")), rs)]
        g["digest"] = lambda _rs, v=digest: v
