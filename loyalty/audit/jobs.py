"""The audit checkpoint job: the chain's head, signed, to the file outside the database (SEC-1)."""
from __future__ import annotations

import logging

from loyalty.audit import service
from loyalty.scheduler import Job

log = logging.getLogger(__name__)


def checkpoint_audit_chain(_item=None) -> int:
    """1 when a checkpoint was written; 0 when the head has not moved, no file is set, or the
    chain does not verify (logged as an error: a checkpoint never vouches for a broken chain)."""
    service.chain_waiting()  # events whose chaining step did not run (the process died between two commits)
    if not service.settings.checkpoint_path:
        return 0
    try:
        return 1 if service.write_checkpoint() else 0
    except service.ChainBroken as exc:
        log.error("audit chain BROKEN at seq %s: %s; no checkpoint written", exc.report.broken_seq, exc)
        return 0


CHECKPOINT = Job("audit_checkpoint", seconds=600, setting="AUDIT_CHECKPOINT_SECONDS", work=checkpoint_audit_chain,
                 limit=1)
