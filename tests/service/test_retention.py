"""Personal data is erased after the retention period, on SQLite and PostgreSQL; figures are unchanged."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.dossiers import retention
from services.dossiers.models import Dossier, DossierEvent
from services.dossiers.reads import period_stats
from services.notifications import retention as notifications_retention
from services.notifications.models import ApologyLetter, Notification
from shared.config import load_config
from shared.messaging import connect
from tests.service.test_period_statistics import RULES, at, ingest_all, life

APPLICANT = {"name": "Trần Thị Bình", "phone": "0912 345 678", "email": "binh@example.vn"}


def with_applicant(events: list) -> list:
    events[0]["payload"]["applicant"] = dict(APPLICANT)
    return events


def test_applicant_data_is_erased_after_retention_and_statistics_stay(database):
    ingest_all(database, with_applicant(life("OLD", at("2023-03-01"), "resolved", at("2023-03-02")))
               + with_applicant(life("OPEN", at("2023-03-01"))))
    with database.transaction() as session:
        before = period_stats(session, RULES, "D227", "2023-H1", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))[0]
        erased = retention.erase_personal_data(session, dt.datetime(2024, 3, 2, tzinfo=dt.UTC))
    assert erased == 1
    with database.transaction() as session:
        dossiers = {d.dossier_code: d.applicant for d in session.scalars(sa.select(Dossier))}
        payloads = {e.dossier_code: e.payload for e in session.scalars(
            sa.select(DossierEvent).where(DossierEvent.event_type == "dossier.received"))}
        after = period_stats(session, RULES, "D227", "2023-H1", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))[0]
        again = retention.erase_personal_data(session, dt.datetime(2024, 3, 2, tzinfo=dt.UTC))
    assert dossiers == {"OLD": None, "OPEN": APPLICANT}  # the open dossier may still need its apology
    assert "applicant" not in payloads["OLD"] and payloads["OPEN"]["applicant"] == APPLICANT
    assert payloads["OLD"]["procedure_code"] and after.counts == before.counts
    assert again == 0


def test_tls_settings_reach_every_broker_connection():
    tls = {"ca_certs": "/etc/cchc/tls/ca.crt", "cert_reqs": 2}
    connection = connect(load_config(AMQP_URI="pyamqp://guest:guest@127.0.0.1:5671/", AMQP_SSL=tls))
    assert connection.ssl == tls
    assert connect(load_config()).ssl is False


def letter(code: str, issued: dt.datetime, pdf: bytes | None) -> ApologyLetter:
    return ApologyLetter(dossier_code=code, unit_code="07900", year=issued.year, number=1, issued_on=issued.date(),
                         new_due_date=issued.date(), new_due_source="proposed", pdf=pdf, created_at=issued,
                         data={"dossier_code": code, "applicant": {"name": "Trần Thị Bình", "phone": "0912345678"}})


def test_finished_notifications_lose_their_personal_data_after_retention(notifications_database):
    db = notifications_database
    old, recent = dt.datetime(2024, 1, 10, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def notification(created: dt.datetime, status: str) -> Notification:
        return Notification(topic=f"t-{created.year}-{status}", kind="apology", channel="email",
                            recipient="binh@example.vn", recipient_masked="b***@e***.vn", unit_code="07900",
                            dossier_code="D1", subject="Thư xin lỗi", body="Kính gửi bà Trần Thị Bình",
                            personal={"name": "Trần Thị Bình"}, status=status, next_attempt_at=created,
                            created_at=created, updated_at=created)

    with db.transaction() as session:
        session.add_all([notification(old, "sent"), notification(old, "pending"), notification(recent, "sent")])
        session.add(letter("D1", old, b"%PDF"))
    with db.transaction() as session:
        erased = notifications_retention.erase_personal_data(session, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    with db.transaction() as session:
        rows = {n.topic: n for n in session.scalars(sa.select(Notification))}
        kept = session.get(ApologyLetter, "D1")
    assert erased == 2  # the old sent notification and the old letter; pending and recent ones are kept
    assert rows["t-2024-sent"].recipient == "b***@e***.vn" and "Bình" not in rows["t-2024-sent"].body
    assert rows["t-2024-pending"].recipient == "binh@example.vn"  # still to be delivered
    assert rows["t-2026-sent"].body == "Kính gửi bà Trần Thị Bình"
    assert kept.pdf is None and kept.data == {} and kept.number == 1


def test_apology_letters_never_rendered_as_pdf_lose_their_personal_data_too(notifications_database):
    """An SMS apology carries no PDF, so its letter's ``pdf`` stays NULL: its data must go all the same."""
    db = notifications_database
    old, recent = dt.datetime(2024, 1, 10, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    cutoff = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with db.transaction() as session:
        session.add_all([letter("SMS-OLD", old, None), letter("PDF-OLD", old, b"%PDF"),
                         letter("SMS-RECENT", recent, None)])
    with db.transaction() as session:
        erased = notifications_retention.erase_personal_data(session, cutoff)
    with db.transaction() as session:
        letters = {row.dossier_code: row for row in session.scalars(sa.select(ApologyLetter))}
        again = notifications_retention.erase_personal_data(session, cutoff)
    assert erased == 2 and again == 0  # each erased once; a second run touches nothing
    assert letters["SMS-OLD"].data == {} and letters["PDF-OLD"].data == {} and letters["PDF-OLD"].pdf is None
    assert letters["SMS-RECENT"].data["applicant"]["name"] == "Trần Thị Bình"  # within retention: kept
    assert letters["SMS-OLD"].number == 1 and letters["SMS-OLD"].new_due_date == old.date()  # the register stays


def test_mail_and_letter_files_are_swept_after_retention(tmp_path):
    import os

    from services.notifications.retention import sweep_folder

    cutoff = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    old_mail = tmp_path / "mail" / "000001-apology.eml"
    new_mail = tmp_path / "mail" / "000002-apology.eml"
    old_letter = tmp_path / "letters" / "Tran-Thi-Binh" / "thu-xin-loi.pdf"
    unrelated = tmp_path / "mail" / "README.txt"
    for path in (old_mail, new_mail, old_letter, unrelated):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"Tran Thi Binh")
    for path in (old_mail, old_letter, unrelated):
        stamp = dt.datetime(2024, 6, 1, tzinfo=dt.UTC).timestamp()
        os.utime(path, (stamp, stamp))
    assert sweep_folder(tmp_path / "mail", cutoff) == 1
    assert sweep_folder(tmp_path / "letters", cutoff) == 1
    assert sweep_folder(tmp_path / "absent", cutoff) == 0
    assert not old_mail.exists() and new_mail.exists() and unrelated.exists()
    assert not old_letter.exists() and not old_letter.parent.exists()  # the applicant's folder went with it
    assert (tmp_path / "letters").is_dir()  # the folder itself stays


def test_refused_and_second_receipts_lose_the_applicant_on_the_same_schedule(database):
    """The applicant also travels in receipts the dossier never used: a second receipt that arrives after the
    dossier's erasure, and a refused receipt (a dossier never received). Both lose it on the same schedule:
    retention after the dossier closed, or after the refusal (issue 12, "retention leaves personal data behind")."""
    from services.dossiers.ingest import ingest_batch
    from shared.events import make_envelope, parse_event

    cutoff = dt.datetime(2024, 3, 2, tzinfo=dt.UTC)
    ingest_all(database, with_applicant(life("OLD", at("2023-03-01"), "resolved", at("2023-03-02"))))
    with database.transaction() as session:
        assert retention.erase_personal_data(session, cutoff) == 1

    def receipt(code: str, unit: str) -> dict:
        return make_envelope("dossier.received", {"dossier_code": code, "procedure_code": "1.000894.H44",
                                                  "unit_code": unit, "received_at": at("2023-03-01"),
                                                  "applicant": dict(APPLICANT)}, occurred_at=at("2023-03-01"))

    def ingest_at(now: dt.datetime, *envelopes: dict) -> None:
        with database.transaction() as session:
            ingest_batch(session, [parse_event(e) for e in envelopes], RULES, now)

    long_ago, recently = dt.datetime(2023, 4, 1, tzinfo=dt.UTC), dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    ingest_at(long_ago, receipt("OLD", "D227"))  # a second receipt, after the erasure: refused, stored
    ingest_at(long_ago, receipt("NEVER", "99999"))  # an unknown unit: refused, the dossier never received
    ingest_at(recently, receipt("FRESH", "99999"))  # refused after the cut-off: kept for now
    with database.transaction() as session:
        erased = retention.erase_personal_data(session, cutoff)
        again = retention.erase_personal_data(session, cutoff)
    with database.transaction() as session:
        receipts = session.execute(sa.select(DossierEvent.dossier_code, DossierEvent.payload).where(
            DossierEvent.event_type == "dossier.received")).all()
    carrying = sorted(code for code, payload in receipts if "applicant" in payload)
    assert carrying == ["FRESH"]
    assert (erased, again) == (2, 0)
