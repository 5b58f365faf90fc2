"""A large payout export is a background job (issue 16): asked for with a 202, written by the
scheduler in batches with its progress committed, downloaded from disk by its requester only,
never offered half-written, removed when it expires. Same columns, rows and scope as the direct
export (LED-6, SEC-2), bad filters refused with field errors and nothing written (SEC-4)."""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from loyalty import clock
from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from loyalty.payouts import export, export_files, export_jobs, jobs
from loyalty.payouts.models import Payout, PayoutExport
from loyalty.settings import settings
from tests.flows import new_referee, payout_of, post, read_csv, verified_referral
from tests.helpers import PASSWORD, count_rows
from tests.web import browser_as, csrf_of, text


@pytest.fixture
def paid_reference() -> str:
    return "=HYPERLINK(1)"  # a formula in the file would be an injection


@pytest.fixture(autouse=True)
def no_files_yet():
    """Ids start again with each test's database; the files of the last test's exports go too."""
    shutil.rmtree(export_files.directory(), ignore_errors=True)


@pytest.fixture
def small_bound(monkeypatch):
    """Anything above one row is a background export, written a row per batch."""
    monkeypatch.setattr(settings, "export_direct_max_rows", 1)
    monkeypatch.setattr(export_files, "BATCH", 1)


def direct_bytes(api, query: str, monkeypatch) -> bytes:
    monkeypatch.setattr(settings, "export_direct_max_rows", 10_000)
    resp = api.as_("finance").get(f"payouts/export.csv{query}")
    read_csv(resp)
    monkeypatch.setattr(settings, "export_direct_max_rows", 1)
    return resp.get_data()


def fetch(api, who: str, url: str):
    """A download read whole and its file closed (send_file streams from an open file)."""
    resp = api.as_(who).get(url)
    resp.get_data()
    resp.close()
    return resp


def ids_in(resp) -> set[str]:
    return {r[0] for r in read_csv(resp)[1:] if r and r[0].isdigit()}


@pytest.mark.rule("LED-6")
def test_a_large_export_is_queued_moves_and_downloads_the_direct_exports_bytes(api, two_payouts, small_bound,
                                                                                monkeypatch):
    assert api.as_("finance").get("payouts/export.csv?status=paid&from=2020-01-01").status_code == 200  # 1 row
    asked = api.as_("finance").get("payouts/export.csv?from=2020-01-01")
    assert asked.status_code == 202 and asked.json["status"] == "queued" and asked.json["download"] is None
    url = asked.headers["Location"]
    assert url == asked.json["url"] == f"/api/v1/payouts/exports/{asked.json['id']}"
    assert api.as_("finance").get(url).json["rows_done"] == 0
    seen = []
    real = export_jobs._progress
    monkeypatch.setattr(export_jobs, "_progress", lambda i, a, n: (real(i, a, n), seen.append(
        (db.session.get(PayoutExport, i).rows_done, db.session.get(PayoutExport, i).rows_total))))
    assert jobs.run_exports() == 1
    assert seen == [(1, 2), (2, 2)]  # committed after each batch (of one row here)
    done = api.as_("finance").get(url).json
    assert done["status"] == "done" and done["percent"] == 100 and done["rows_total"] == 2
    file = fetch(api, "finance", done["download"])
    assert file.headers["Content-Disposition"].startswith("attachment; filename=payouts-")
    assert file.get_data() == direct_bytes(api, "?from=2020-01-01", monkeypatch)
    assert done["size_bytes"] == len(file.get_data())
    assert "'=HYPERLINK(1)" in file.get_data().decode("utf-8-sig")  # neutralised like the direct export


@pytest.mark.rule("LED-6")
def test_everything_is_every_payout_the_default_the_last_90_days(api, two_payouts, small_bound, monkeypatch):
    first, second = two_payouts
    db.session.get(Payout, first["id"]).requested_at = clock.now() - timedelta(days=export.DEFAULT_DAYS + 5)
    db.session.commit()
    default = api.as_("finance").post("payouts/exports", json={})
    everything = api.as_("finance").post("payouts/exports", json={"all": True})
    assert default.status_code == everything.status_code == 202 and default.json["id"] != everything.json["id"]
    assert jobs.run_exports() == 2
    assert ids_in(fetch(api, "finance", default.json["url"] + "/payouts.csv")) == {str(second["id"])}
    whole = fetch(api, "finance", everything.json["url"] + "/payouts.csv")
    assert ids_in(whole) == {str(first["id"]), str(second["id"])}
    assert whole.get_data() == direct_bytes(api, "?from=1970-01-01", monkeypatch)


def test_asking_twice_while_it_runs_answers_the_same_export(api, two_payouts, small_bound):
    one = api.as_("finance").post("payouts/exports", json={"all": True})
    two = api.as_("finance").post("payouts/exports", json={"all": True})
    assert one.json["id"] == two.json["id"] and count_rows(PayoutExport) == 1
    with time_machine.travel(clock.now(), tick=True):  # "the last 90 days" a moment later: the same export
        recent = [api.as_("finance").get("payouts/export.csv").json["id"] for _ in range(2)]
    assert recent[0] == recent[1] and count_rows(PayoutExport) == 2
    mine = [e["id"] for e in api.as_("finance").get("payouts/exports").json["items"]]
    assert mine == [recent[0], one.json["id"]]  # the newest first


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("body, field", [
    ({"from": "2026-05-02", "to": "2026-05-01"}, "to"),
    ({"all": True, "from": "2026-05-01"}, "all"),
    ({"all": "yes"}, "all"),
    ({"status": "lost"}, "status"),
    ({"store_id": 999999}, "store_id"),
    ({"from": "0001-01-01"}, "from"),
    ({"from": "2026-13-01"}, "from"),
    ({"format": "xlsx"}, "format"),
])
def test_bad_filters_are_refused_with_the_field_and_nothing_is_queued(api, world, body, field):
    resp = api.as_("finance").post("payouts/exports", json=body)
    assert resp.status_code == 422, resp.json
    assert field in resp.json["fields"], resp.json
    assert count_rows(PayoutExport) == 0
    assert api.as_("finance").post("payouts/exports", data="{", content_type="application/json").status_code == 400


@pytest.mark.rule("SEC-2")
def test_only_the_requester_or_an_admin_reads_or_downloads_an_export(api, world, two_payouts, small_bound):
    asked = api.as_("finance").post("payouts/exports", json={"all": True}).json
    jobs.run_exports()
    file = asked["url"] + "/payouts.csv"
    for other in ("finance2",):
        assert api.as_(other).get(asked["url"]).status_code == 404
        assert fetch(api, other, file).status_code == 404
        assert api.as_(other).get("payouts/exports").json["items"] == []
    for outsider in ("consultant", "manager", "agent", "service"):
        assert api.as_(outsider).get(asked["url"]).status_code == 403
        assert api.as_(outsider).post("payouts/exports", json={}).status_code == 403
    assert fetch(api, "admin", file).status_code == 200
    assert api.anonymous.get(file).status_code == 401


@pytest.mark.rule("SEC-2")
def test_a_store_bound_finance_user_exports_only_his_store(api, world, two_payouts, small_bound):
    made = api.as_("admin").post("staff", json={"username": "finance_sh02", "display_name": "闵行财务",
                                                "role": "finance", "store_id": world.other_store.id,
                                                "password": PASSWORD})
    assert made.status_code == 201, made.json
    api.token("finance_sh02")
    assert api.as_("finance_sh02").post("payouts/exports", json={"store_id": world.store.id}).status_code == 422
    mine = api.as_("finance_sh02").post("payouts/exports", json={"all": True}).json
    group = api.as_("finance").post("payouts/exports", json={"all": True}).json
    assert jobs.run_exports() == 2
    assert ids_in(fetch(api, "finance_sh02", mine["url"] + "/payouts.csv")) == set()
    assert len(ids_in(fetch(api, "finance", group["url"] + "/payouts.csv"))) == 2


class Crash(BaseException):
    """The process dies (not an error the job can catch and report)."""


def test_a_crash_mid_way_leaves_no_done_export_and_the_job_is_run_again(api, two_payouts, small_bound,
                                                                        monkeypatch):
    asked = api.as_("finance").post("payouts/exports", json={"all": True}).json

    def die(export_id, attempt, rows):
        raise Crash()
    monkeypatch.setattr(export_jobs, "_progress", die)
    with pytest.raises(Crash):
        jobs.run_next_export()
    db.session.rollback()
    job = db.session.get(PayoutExport, asked["id"])
    assert job.status == "running" and job.file_name is None
    assert export_files.part_path(job.id, 1).exists() and not export_files.final_path(job.id).exists()
    assert fetch(api, "finance", asked["url"] + "/payouts.csv").json["code"] == "export_not_ready"
    monkeypatch.undo()
    monkeypatch.setattr(settings, "export_direct_max_rows", 1)
    assert jobs.run_exports() == 0  # still running as far as anyone knows: not taken twice
    with time_machine.travel(clock.now() + timedelta(seconds=settings.export_stale_seconds + 1), tick=False):
        assert jobs.run_exports() == 1  # silent too long: queued again and written whole
    done = api.as_("finance").get(asked["url"]).json
    assert done["status"] == "done" and done["rows_done"] == 2
    assert not export_files.part_path(asked["id"], 1).exists() and not export_files.part_path(asked["id"], 2).exists()
    assert len(ids_in(fetch(api, "finance", done["download"]))) == 2
    assert db.session.get(PayoutExport, asked["id"]).attempts == 2


def test_an_export_that_keeps_dying_is_failed_not_retried_for_ever(api, two_payouts, small_bound, monkeypatch):
    asked = api.as_("finance").post("payouts/exports", json={"all": True}).json
    job = db.session.get(PayoutExport, asked["id"])
    job.status, job.attempts, job.heartbeat_at = "running", export_jobs.MAX_ATTEMPTS, clock.now()
    db.session.commit()
    with time_machine.travel(clock.now() + timedelta(seconds=settings.export_stale_seconds + 1), tick=False):
        assert jobs.run_exports() == 0
    assert api.as_("finance").get(asked["url"]).json["status"] == "failed"
    assert fetch(api, "finance", asked["url"] + "/payouts.csv").json["code"] == "export_failed"


def test_an_error_fails_the_export_removes_its_file_and_is_logged(app, api, two_payouts, small_bound,
                                                                   monkeypatch):
    asked = api.as_("finance").post("payouts/exports", json={"all": True}).json

    def broken(export_id, attempt, rows):
        raise OSError("disk full")
    monkeypatch.setattr(export_jobs, "_progress", broken)
    from loyalty import scheduler
    assert scheduler.run_job(app, "payout_exports") == scheduler.JobRun(done=0, failed=1)
    job = db.session.get(PayoutExport, asked["id"])
    assert job.status == "failed" and "disk full" in job.error and job.file_name is None
    assert not export_files.part_path(job.id, 1).exists() and not export_files.final_path(job.id).exists()
    actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.entity == "payout_export")
                                 .order_by(AuditEvent.id)).scalars().all()
    assert actions == ["requested", "failed"]


def test_a_requester_no_longer_in_finance_gets_a_failed_export(api, world, two_payouts, small_bound):
    asked = api.as_("finance2").post("payouts/exports", json={"all": True}).json
    assert api.as_("admin").patch(f"staff/{world['finance2'].id}", json={"role": "manager"}).status_code == 200
    with pytest.raises(export_jobs.ExportRefused):
        jobs.run_exports()
    assert db.session.get(PayoutExport, asked["id"]).status == "failed"


def test_files_expire_after_the_kept_days(api, two_payouts, small_bound, runner):
    asked = api.as_("finance").post("payouts/exports", json={"all": True}).json
    assert "exports written: 1" in runner.invoke(args=["payouts", "exports", "run"]).output
    path = export_files.final_path(asked["id"])
    assert path.exists()
    assert "exports expired: 0" in runner.invoke(args=["payouts", "exports", "expire"]).output
    with time_machine.travel(clock.now() + timedelta(days=settings.export_keep_days, seconds=1), tick=False):
        assert "exports expired: 1" in runner.invoke(args=["payouts", "exports", "expire"]).output
    assert not path.exists()
    gone = fetch(api, "finance", asked["url"] + "/payouts.csv")
    assert gone.status_code == 409 and gone.json["code"] == "export_expired"
    assert api.as_("finance").get(asked["url"]).json["status"] == "expired"


def test_the_export_is_audited_asked_done_downloaded(api, two_payouts, small_bound):
    asked = api.as_("finance").post("payouts/exports", json={"all": True}).json
    jobs.run_exports()
    fetch(api, "finance", asked["url"] + "/payouts.csv")
    events = db.session.execute(select(AuditEvent).where(AuditEvent.entity == "payout_export")
                                .order_by(AuditEvent.id)).scalars().all()
    assert [e.action for e in events] == ["requested", "done", "downloaded"]
    assert events[0].actor_id == db.session.get(PayoutExport, asked["id"]).requested_by_id
    assert events[0].after["filters"]["upto_id"] >= two_payouts[1]["id"]


def test_the_file_speaks_the_language_it_was_asked_in(api, two_payouts, small_bound):
    asked = api.as_("finance").post("payouts/exports", json={"all": True}, headers={"Accept-Language": "en"}).json
    jobs.run_exports()
    rows = read_csv(fetch(api, "finance", asked["url"] + "/payouts.csv"))
    assert rows[0][:3] == ["Payout", "Referral", "Store"]


@pytest.mark.rule("LED-6")
def test_the_payouts_page_starts_a_background_export_shows_its_progress_and_the_file(app, api, two_payouts,
                                                                                     small_bound):
    browser = browser_as(app, "finance")
    page = text(browser.get("/payouts?status=paid"))
    assert "导出（后台）" in page and "我的导出" in page and "暂无导出" in page
    asked = browser.post("/payouts/exports", data={"csrf_token": csrf_of(browser, "/payouts"), "status": "paid",
                                                   "next": "/payouts?status=paid"})
    assert asked.status_code == 302 and asked.headers["Location"] == "/payouts?status=paid"
    job = db.session.execute(select(PayoutExport)).scalar_one()
    assert job.filters["status"] == "paid" and "date_from" not in job.filters  # no period on the page: all
    page = text(browser.get("/payouts?status=paid"))
    assert "已开始后台导出" in page and f'data-test="export-{job.id}"' in page and "data-poll=" in page
    state = browser.get(f"/payouts/exports/{job.id}.json").get_json()
    assert (state["status"], state["label"], state["download"], state["finished"]) == ("queued", "排队中", None, False)
    assert jobs.run_exports() == 1
    state = browser.get(f"/payouts/exports/{job.id}.json").get_json()
    assert (state["label"], state["percent"], state["finished"]) == ("可下载", 100, True)
    file = browser.get(state["download"])
    assert [r[0] for r in read_csv(file)[1:] if r and r[0].isdigit()] == [str(two_payouts[0]["id"])]
    file.close()
    assert "可下载" in text(browser.get("/payouts")) and "data-poll=" not in text(browser.get("/payouts"))
    other = browser_as(app, "finance2")
    assert other.get(f"/payouts/exports/{job.id}.json").status_code == 404
    assert other.get(state["download"]).status_code == 404
    big = browser.get("/payouts/export.csv?status=all")  # two rows, above the bound: a job, back to the queue
    assert big.status_code == 302 and count_rows(PayoutExport) == 2
    assert "数据行数过多" in text(browser.get(big.headers["Location"]))


def test_a_bad_period_on_the_page_queues_nothing(app, world):
    browser = browser_as(app, "finance")
    resp = browser.post("/payouts/exports", data={"csrf_token": csrf_of(browser, "/payouts"), "from": "2026-05-02",
                                                  "to": "2026-05-01"})
    assert resp.status_code == 302 and count_rows(PayoutExport) == 0
    assert "期间的结束日期早于开始日期" in text(browser.get(resp.headers["Location"]))


def test_an_attempt_taken_for_dead_that_still_runs_leaves_the_export_to_its_successor(api, two_payouts,
                                                                                     small_bound, monkeypatch):
    asked = api.as_("finance").post("payouts/exports", json={"all": True}).json
    real = export_jobs._progress

    def successor_claims(export_id, attempt, rows):  # meanwhile another scheduler queued it again and took it
        job = db.session.get(PayoutExport, export_id)
        job.attempts, job.rows_done = attempt + 1, 0
        db.session.commit()
        real(export_id, attempt, rows)
    monkeypatch.setattr(export_jobs, "_progress", successor_claims)
    assert jobs.run_next_export() is True  # stops quietly: not a failure of the export
    job = db.session.get(PayoutExport, asked["id"])
    assert (job.status, job.attempts, job.rows_done, job.file_name) == ("running", 2, 0, None)
    assert not export_files.part_path(job.id, 1).exists() and not export_files.final_path(job.id).exists()


def test_a_requester_has_at_most_five_exports_waiting(api, world):
    for year in range(2020, 2025):
        assert api.as_("finance").post("payouts/exports", json={"from": f"{year}-01-01"}).status_code == 202
    sixth = api.as_("finance").post("payouts/exports", json={"from": "2025-01-01"})
    assert sixth.status_code == 409 and sixth.json["code"] == "too_many_exports"
    assert api.as_("finance").post("payouts/exports", json={"from": "2020-01-01"}).status_code == 202  # the same
    assert api.as_("finance2").post("payouts/exports", json={"from": "2025-01-01"}).status_code == 202
    assert count_rows(PayoutExport) == 6
