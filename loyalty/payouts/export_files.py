"""Writing a background payout export to disk (issue 16): keyset batches, constant memory.

The payouts are read BATCH rows at a time by their (requested_at, id) key, the index the finance
queue pages by, each batch a short query of its own; after each batch the job's progress is
committed (so a status poll sees it move), and no transaction stays open for the whole file. The
bytes are export.csv_pieces', the direct export's. The file is written under a temporary name of
its attempt (`.payouts-N-A.csv.part`) and renamed (`publish`) only once complete, so a file under its
final name is always whole; its size and SHA-256 are recorded with the done export.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, func, literal, select, tuple_

from loyalty.extensions import db
from loyalty.payouts import export
from loyalty.payouts.models import Payout
from loyalty.settings import settings

BATCH = 2000


@dataclass(frozen=True)
class Written:
    name: str
    size: int
    sha256: str


def directory() -> Path:
    path = Path(settings.export_dir or "exports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def final_path(export_id: int) -> Path:
    return directory() / f"payouts-{export_id}.csv"


def part_path(export_id: int, attempt: int) -> Path:
    """The file an attempt writes: its own, so an attempt taken for dead that still runs never
    writes into its successor's file."""
    return directory() / f".payouts-{export_id}-{attempt}.csv.part"


def count(query: Select) -> int:
    ids = query.with_only_columns(Payout.id).order_by(None).subquery()
    return db.session.execute(select(func.count()).select_from(ids)).scalar_one()


def keyset_batches(query: Select, progress: Callable[[int], None], size: int | None = None) -> Iterator[list[Payout]]:
    """The payouts of `query` (ordered by requested_at, id), `size` at a time; `progress(rows so
    far)` after each batch has been written (it commits, ending the batch's transaction)."""
    columns = (Payout.requested_at, Payout.id)
    last, done = None, 0
    while True:
        page = export.lean(query).limit(size or BATCH)
        if last is not None:
            page = page.where(tuple_(*columns) > tuple_(*[literal(v, type_=c.type) for c, v in zip(columns, last)]))
        batch = list(db.session.execute(page).unique().scalars())
        if not batch:
            return
        last = (batch[-1].requested_at, batch[-1].id)
        yield batch
        done += len(batch)
        progress(done)


def write(export_id: int, attempt: int, query: Select, progress: Callable[[int], None]) -> Written:
    """The CSV of `query` to the attempt's temporary file (`publish` gives it its final name)."""
    part = part_path(export_id, attempt)
    digest, size = hashlib.sha256(), 0
    with open(part, "wb") as out:
        for piece in export.csv_pieces(query, keyset_batches(query, progress)):
            out.write(piece)
            digest.update(piece)
            size += len(piece)
        out.flush()
        os.fsync(out.fileno())
    return Written(final_path(export_id).name, size, digest.hexdigest())


def publish(export_id: int, attempt: int) -> None:
    os.replace(part_path(export_id, attempt), final_path(export_id))  # atomic: no file, or the whole file


def remove(export_id: int, attempt: int | None = None) -> None:
    """An attempt's temporary file; without `attempt`, every file of the export."""
    parts = [part_path(export_id, attempt)] if attempt else [*directory().glob(f".payouts-{export_id}-*.csv.part"),
                                                             final_path(export_id)]
    for path in parts:
        path.unlink(missing_ok=True)
