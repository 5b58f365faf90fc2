"""The audit events' JSON columns hold the canonical text their seals cover (issue 16, SEC-1), so that
`flask audit verify` on PostgreSQL seals the stored text as it is, with no JSON parsed or encoded per
event; text written otherwise (before the engine wrote canonical text, or behind the service) is
parsed, and verifies, or is named, as before."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from loyalty.audit import service as audit
from loyalty.audit import walking
from loyalty.audit.models import AuditEvent
from loyalty.canonical import canonical_json
from loyalty.extensions import db

EVENTS = AuditEvent.__table__
VALUES = [{"n": 1, "名": "张三", "nested": {"b": [1, 2], "a": None}}, {"note": 'says ": here'}, {}, None,
          {"amount": 50000, "flags": [True, False], "x": -1.5}]


def stored(seq: int) -> tuple[str | None, str | None]:
    """The text an event's before and after columns hold."""
    cast = "CAST({} AS TEXT)" if db.engine.dialect.name == "postgresql" else "{}"
    return db.session.execute(text(f"SELECT {cast.format('before')}, {cast.format('after')} "
                                   "FROM audit_events WHERE seq = :s"), {"s": seq}).one()


def set_text(seq: int, after: str) -> None:
    value = "CAST(:t AS json)" if db.engine.dialect.name == "postgresql" else ":t"
    db.session.execute(text(f"UPDATE audit_events SET after = {value} WHERE seq = :s"), {"t": after, "s": seq})
    db.session.commit()


@pytest.fixture
def events(app):
    for i, value in enumerate(VALUES):
        audit.record(None, "probe", str(i), "tick", before={"i": i} if i % 2 else None, after=value)
        db.session.commit()
    return len(VALUES)


def verify(runner):
    db.session.commit()
    return runner.invoke(args=["audit", "verify"])


def count_parses(monkeypatch) -> list:
    parsed = []
    real = walking._json

    def counting(value):
        parsed.append(value)
        return real(value)
    monkeypatch.setattr(walking, "_json", counting)
    return parsed


@pytest.mark.rule("SEC-1")
def test_json_columns_hold_the_canonical_text_of_their_values(app, events):
    for seq, value in enumerate(VALUES, start=1):
        before, after = stored(seq)
        assert after == canonical_json(value)
        assert before == canonical_json({"i": seq - 1} if (seq - 1) % 2 else None)  # None: JSON null
    assert canonical_json(VALUES[0]) == '{"n":1,"nested":{"a":null,"b":[1,2]},"名":"张三"}'


@pytest.mark.rule("SEC-1")
def test_verify_on_postgresql_seals_the_stored_text_without_parsing_it(app, runner, events, pg_only, monkeypatch):
    parsed = count_parses(monkeypatch)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert f"audit chain OK: {events} events" in result.output
    # only the event whose text holds '": ' inside a string takes the longer way
    assert parsed == [canonical_json({"i": 1}), canonical_json(VALUES[1])]


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("written", [
    lambda v: json.dumps(v),  # SQLAlchemy's default before the engine wrote canonical text
    lambda v: json.dumps(v, indent=2, ensure_ascii=False),
    lambda v: " " + canonical_json(v) + " ",
])
def test_events_whose_text_was_written_otherwise_still_verify(app, runner, events, written):
    for seq, value in enumerate(VALUES, start=1):
        set_text(seq, written(value))
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert f"audit chain OK: {events} events" in result.output


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("seq, after", [
    (1, '{"n":2,"nested":{"a":null,"b":[1,2]},"名":"张三"}'),  # canonical text of another value
    (3, '{"n": 1}'),  # another value in json.dumps' form
    (3, "null"),
    (4, "{}"),  # null given the text of an empty object
    (5, '{"amount":50001,"flags":[true,false],"x":-1.5}'),
])
def test_text_of_another_value_is_named(app, runner, events, seq, after):
    set_text(seq, after)
    result = verify(runner)
    assert result.exit_code == 1, result.output
    assert f"seq {seq}" in result.output
    assert "does not match its seal" in result.output
    event_id = db.session.execute(select(EVENTS.c.id).where(EVENTS.c.seq == seq)).scalar_one()
    assert str(event_id) in result.output


@pytest.mark.rule("SEC-1")
def test_verify_reads_event_times_whatever_date_style_the_server_gives(app, runner, events, pg_only, monkeypatch):
    """The walk reads each event's time as text: its worker processes' connections ask for ISO
    whatever the server's default (here DMY, as libpq's PGOPTIONS gives every new connection)."""
    from loyalty import scanning
    monkeypatch.setattr(scanning, "LEAST", 2)
    monkeypatch.setattr(scanning, "MOST", 2)
    monkeypatch.setenv("PGOPTIONS", "-c DateStyle=SQL,DMY")
    db.session.commit()
    result = runner.invoke(args=["audit", "verify", "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert f"audit chain OK: {events} events" in result.output
    import psycopg
    target = scanning.driver_target(db.engine.url)[1]
    with psycopg.connect(target) as plain:  # what a connection gets without the walk's settings
        assert plain.execute("SHOW DateStyle").fetchone()[0] == "SQL, DMY"
    with scanning.connect("postgresql", target) as walking_conn:
        assert walking_conn.execute("SHOW DateStyle").fetchone()[0].startswith("ISO")


@pytest.mark.rule("SEC-1")
def test_sqlite_text_that_is_not_json_is_named(app, runner):
    """SQLite keeps any text: a string value's column with its quotes taken off is no longer the
    value sealed (the app cannot even read it), and verify names it (review finding)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's json type refuses text that is not JSON")
    audit.record(None, "probe", "1", "tick", after="approved")
    db.session.commit()
    set_text(1, "approved")
    result = verify(runner)
    assert result.exit_code == 1, result.output
    assert "seq 1" in result.output and "not JSON" in result.output


@pytest.mark.rule("SEC-1")
def test_sqlite_time_given_an_offset_is_the_instant_the_app_reads(app, runner, events):
    """SQLite keeps times as text: the same digits with an offset are another instant to the app
    (loyalty.types.UTCDateTime), so they must not match the seal (review finding)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps times as timestamptz")
    stored = db.session.execute(text("SELECT at FROM audit_events WHERE seq = 2")).scalar_one()
    for forged, holds in ((stored.replace(" ", "T") + "+09:00", False), (stored.replace(" ", "T") + "+00:00", True)):
        db.session.execute(text("UPDATE audit_events SET at = :t WHERE seq = 2"), {"t": forged})
        db.session.commit()
        result = verify(runner)
        assert (result.exit_code == 0) is holds, result.output
        if not holds:
            assert "seq 2" in result.output
