"""The Decision 766 facts through the dossiers service's ingest and read models, on SQLite and PostgreSQL: facts
folded whatever the order and the redeliveries, petitions locked and merged, a unit's index with where its points
go, the ranking, the workbooks, and the procedure-facts import discipline."""

from __future__ import annotations

import base64
import datetime as dt
import io
import random
from decimal import Decimal
from pathlib import Path

import alembic.autogenerate
import sqlalchemy as sa
from alembic.migration import MigrationContext
from openpyxl import load_workbook

from services.dossiers.index766 import reads, store
from services.dossiers.index766.tables import DossierFactsRow, PetitionRow
from services.dossiers.models import Base
from services.dossiers.rules import rules_from_config
from shared.calendar import LOCAL_TZ
from shared.config import load_config
from shared.events import make_envelope, parse_event

RULES = rules_from_config(load_config())
NOW = dt.datetime(2026, 9, 3, 8, 0, tzinfo=LOCAL_TZ)
VIET_TRI, NONG_TRANG = "07900", "07894"
MARRIAGE, BIRTH = "1.000894.H44", "1.001193.H44"  # 5 working days; 2 working hours
SAMPLE = Path(__file__).resolve().parents[2] / "services/dossiers/index766/data/procedure_facts_sample.csv"


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=LOCAL_TZ)


def event(kind: str, payload: dict, when: dt.datetime, event_id: str | None = None) -> dict:
    return make_envelope(kind, payload, occurred_at=when, source="test", event_id=event_id)


def month_of_events() -> list[dict]:
    """August 2026 at two communes: a model dossier, a late one, a supplement case, petitions."""
    return [
        event("dossier.received", {
            "dossier_code": "A1", "procedure_code": MARRIAGE, "unit_code": VIET_TRI, "received_at": at("2026-08-03"),
            "due_at": at("2026-08-10"), "channel": "online", "applicant": {"name": "Nguyễn Văn An"},
            "components": [{"component_code": "TK", "digitised": True}, {"component_code": "CCCD",
                                                                            "from_national_store": True}],
            "has_digitised_components": True, "fees": [{"amount": Decimal("50000")}],
            "payment": {"channel": "national_platform", "paid_at": at("2026-08-03", 10)}, "vneid_verified": True,
        }, at("2026-08-03"), "00000000-0000-4000-8000-000000000001"),
        event("dossier.synced", {"dossier_code": "A1", "synced_at": at("2026-08-03", 10)}, at("2026-08-03", 10)),
        event("dossier.resolved", {"dossier_code": "A1", "resolved_at": at("2026-08-06")}, at("2026-08-06")),
        event("dossier.result_issued", {"dossier_code": "A1", "issued_at": at("2026-08-06", 10),
                                        "result_code": "KQ-A1", "file_url": "https://motcua.example/kq/A1.pdf"},
              at("2026-08-06", 10)),
        event("dossier.rated", {"dossier_code": "A1", "rated_at": at("2026-08-07"), "rating": "dissatisfied"},
              at("2026-08-07")),
        event("dossier.rated", {"dossier_code": "A1", "rated_at": at("2026-08-08"), "rating": "satisfied"},
              at("2026-08-08")),
        # B2: in person, late, no facts at all
        event("dossier.received", {"dossier_code": "B2", "procedure_code": MARRIAGE, "unit_code": VIET_TRI,
                                   "received_at": at("2026-08-04"), "due_at": at("2026-08-11"),
                                   "applicant": {"name": "Trần Thị Bình"}}, at("2026-08-04")),
        event("dossier.resolved", {"dossier_code": "B2", "resolved_at": at("2026-08-14")}, at("2026-08-14")),
        # C3: a 4-day supplement wait subtracted makes it on time for the board
        event("dossier.received", {"dossier_code": "C3", "procedure_code": MARRIAGE, "unit_code": NONG_TRANG,
                                   "received_at": at("2026-08-03"), "due_at": at("2026-08-10")}, at("2026-08-03")),
        event("dossier.supplement_requested", {"dossier_code": "C3", "requested_at": at("2026-08-04")},
              at("2026-08-04")),
        event("dossier.supplement_received", {"dossier_code": "C3", "supplied_at": at("2026-08-08")},
              at("2026-08-08")),
        event("dossier.resolved", {"dossier_code": "C3", "resolved_at": at("2026-08-13")}, at("2026-08-13")),
        event("dossier.paid", {"dossier_code": "C3", "paid_at": at("2026-08-05"), "channel": "provincial_gateway"},
              at("2026-08-05")),
        # petitions: one about A1, answered in time and disliked; one never answered (overdue)
        event("petition.received", {"petition_code": "P1", "unit_code": VIET_TRI, "received_at": at("2026-08-07"),
                                    "category": "procedure", "dossier_code": "A1"}, at("2026-08-07")),
        event("petition.answered", {"petition_code": "P1", "answered_at": at("2026-08-12"), "outcome": "handled"},
              at("2026-08-12")),
        event("petition.rated", {"petition_code": "P1", "rated_at": at("2026-08-13"), "likes": 1, "dislikes": 0},
              at("2026-08-13")),
        event("petition.rated", {"petition_code": "P1", "rated_at": at("2026-08-20"), "likes": 1, "dislikes": 4},
              at("2026-08-20")),
        event("petition.received", {"petition_code": "P2", "unit_code": NONG_TRANG, "received_at": at("2026-08-03"),
                                    "category": "staff"}, at("2026-08-03")),
    ]


def ingest(database, envelopes: list[dict], batch: int = 7) -> dict:
    refused: dict = {}
    events = [parse_event(e) for e in envelopes]
    for start in range(0, len(events), batch):
        with database.transaction() as session:
            _, rejections = store.ingest_with_facts(session, events[start:start + batch], RULES, NOW)
            refused.update(rejections)
    return refused


def stored(database) -> tuple[dict, dict]:
    with database.transaction() as session:
        facts = {r.dossier_code: {c.name: getattr(r, c.name) for c in DossierFactsRow.__table__.columns
                                  if c.name != "updated_at"} for r in session.scalars(sa.select(DossierFactsRow))}
        petitions = {r.petition_code: {c.name: getattr(r, c.name) for c in PetitionRow.__table__.columns
                                       if c.name not in ("updated_at", "first_seen_at")}
                     for r in session.scalars(sa.select(PetitionRow))}
    return facts, petitions


def test_the_migration_creates_what_the_models_declare(database):
    with database.engine.connect() as connection:
        diff = alembic.autogenerate.compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "index766" in repr(d)] == []


def test_facts_are_folded_whatever_the_order_and_the_redeliveries(database):
    envelopes = month_of_events()
    assert ingest(database, envelopes) == {}
    first = stored(database)
    shuffled = envelopes + random.Random(7).sample(envelopes, 6)  # some delivered twice, all shuffled
    random.Random(8).shuffle(shuffled)
    assert ingest(database, shuffled, batch=5) == {}
    assert stored(database) == first
    facts, petitions = first
    assert set(facts) == {"A1", "C3"}  # B2 carried nothing
    a1 = facts["A1"]
    assert (a1["digitised"], a1["from_store"], a1["vneid"], a1["fee_nonzero"]) == (True, True, True, True)
    assert a1["rating"] == "satisfied" and a1["e_result_at"] == at("2026-08-06", 10)
    assert facts["C3"]["paid_channel"] == "provincial_gateway" and facts["C3"]["receipt_event_id"] is None
    assert facts["A1"]["receipt_event_id"] == "00000000-0000-4000-8000-000000000001"
    assert (petitions["P1"]["likes"], petitions["P1"]["dislikes"], petitions["P1"]["outcome"]) == (1, 4, "handled")
    assert petitions["P2"]["answered_at"] is None and petitions["P2"]["unit_code"] == NONG_TRANG


def test_a_petition_to_an_unknown_unit_is_refused_with_field_and_reason(database):
    bad = event("petition.received", {"petition_code": "PX", "unit_code": "99999", "received_at": at("2026-08-03")},
                at("2026-08-03"))
    refused = ingest(database, [bad])
    [(event_id, rejection)] = refused.items()
    assert event_id == bad["event_id"] and rejection.field == "payload.unit_code" and "99999" in rejection.reason
    assert stored(database)[1] == {}


def test_a_units_index_says_where_its_points_go(database):
    ingest(database, month_of_events())
    with database.transaction() as session:
        doc = reads.unit_index(session, RULES, VIET_TRI, "2026-08", NOW)
        province = reads.unit_index(session, RULES, "P25", "2026-08", NOW)
    indicators = {i["code"]: i for g in doc["groups"] for i in g["indicators"]}
    assert (indicators["PROGRESS_ON_TIME"]["numerator"], indicators["PROGRESS_ON_TIME"]["denominator"]) == (1, 2)
    assert indicators["PROGRESS_ON_TIME"]["score"] == "10.00"
    assert (indicators["ONLINE_PAYMENT_DOSSIERS"]["numerator"], indicators["ONLINE_PAYMENT_DOSSIERS"]["denominator"]) \
        == (1, 1)  # without procedure facts only A1 shows a fee to pay
    assert indicators["PETITION_HANDLING_SATISFACTION"]["score"] == "0.00"  # P1 disliked at the end
    assert doc["as_of"] == "2026-08-31T23:59:59.999999+07:00"
    losses = {loss["code"]: loss for loss in doc["losses"]}
    [late] = losses["PROGRESS_ON_TIME"]["items"]
    assert (late["code"], late["applicant"], late["reason"]) == (
        "B2", "T*** T*** B***", "Kết thúc xử lý ngày 14/08/2026, hạn 11/08/2026")
    satisfaction = {i["code"]: i["reason"] for i in losses["DOSSIER_RECEIVING_SATISFACTION"]["items"]}
    assert satisfaction == {"A1": "Có phản ánh, kiến nghị về hồ sơ", "B2": late["reason"]}
    assert any("CSDLQG" in w for w in doc["warnings"])
    assert "Nguyễn Văn An" not in repr(doc)
    p_indicators = {i["code"]: i for g in province["groups"] for i in g["indicators"]}
    assert (p_indicators["PROGRESS_ON_TIME"]["numerator"], p_indicators["PROGRESS_ON_TIME"]["denominator"]) == (2, 3)
    assert (p_indicators["PETITION_PROCESSING_ON_TIME"]["numerator"],
            p_indicators["PETITION_PROCESSING_ON_TIME"]["denominator"]) == (1, 2)


def test_the_ranking_and_the_workbooks(database):
    ingest(database, month_of_events())
    with database.transaction() as session:
        ranking = reads.ranking(session, RULES, "2026-08", NOW, unit_kind="commune")
        unit_xlsx = reads.workbook(session, RULES, "2026-08", NOW, VIET_TRI)
        ranking_xlsx = base64.b64decode(reads.workbook_base64(session, RULES, "2026-08", NOW))
    units = ranking["units"]
    assert {u["unit_kind"] for u in units} == {"commune"}
    lost = [Decimal(u["points_lost"]) for u in units]
    assert lost == sorted(lost, reverse=True)
    assert {units[0]["unit_code"], units[1]["unit_code"]} != {VIET_TRI, NONG_TRANG}  # empty communes lose most
    assert ranking["province"]["unit_code"] == "P25"
    sheet = load_workbook(io.BytesIO(ranking_xlsx))["Xếp hạng"]
    header = [c.value for c in sheet[4]]
    assert header[:4] == ["STT", "Mã đơn vị", "Tên đơn vị", "Loại đơn vị"] and "Tổng điểm (100)" in header
    assert "Công khai, minh bạch (18) (*)" in header and "Tiến độ giải quyết (20)" in header  # inferred marked
    assert "(*) nhóm có chỉ tiêu tính theo cách suy luận" in sheet["A2"].value
    book = load_workbook(io.BytesIO(unit_xlsx))
    assert book.sheetnames == ["Chỉ số", "Điểm bị mất", "Hồ sơ, TTHC", "Ghi chú, căn cứ"]
    items = [[c.value for c in row] for row in book["Hồ sơ, TTHC"].iter_rows(min_row=2)]
    assert any(row[3] == "B2" and row[9] == "T*** T*** B***" for row in items)


def test_the_procedure_facts_import_discipline(database):
    sample = SAMPLE.read_bytes()
    unknown = sample + "9.999999.H44,cấp xã,,toàn trình,,,,,có,có,có,\n".encode()
    with database.transaction() as session:
        refused = reads.import_procedure_facts(session, RULES, "2026-08", "facts.csv", unknown, "vp.ubnd", NOW)
        assert not refused["accepted"] and refused["unknown_procedures"] == [
            {"row": 15, "procedure_code": "9.999999.H44"}]
        assert store.imports(session) == []  # nothing imported
        first = reads.import_procedure_facts(session, RULES, "2026-08", "facts.csv", unknown, "vp.ubnd", NOW,
                                             skip_unknown=True)
        second = reads.import_procedure_facts(session, RULES, "2026-Q3", "facts.csv", sample, "vp.ubnd", NOW)
    assert first["accepted"] and first["rows_imported"] == 13 and second["import_id"] > first["import_id"]
    with database.transaction() as session:
        facts, chosen = store.procedure_facts(session, reads.parse_board_period("2026-08"))
        assert chosen["id"] == first["import_id"] and len(facts) == 13
        _, september = store.procedure_facts(session, reads.parse_board_period("2026-09"))
        assert september["period"] == "2026-Q3"  # no import for September: the quarter's
        _, year = store.procedure_facts(session, reads.parse_board_period("2027"))
        assert year["id"] == second["import_id"]  # nothing newer: the latest earlier import
        doc = reads.unit_index(session, RULES, VIET_TRI, "2026-08", NOW)
    assert doc["procedure_facts"]["import_id"] == first["import_id"]
    ecc = next(i for g in doc["groups"] for i in g["indicators"] if i["code"] == "ELECTRONIC_CERTIFIED_COPY")
    assert (ecc["numerator"], ecc["denominator"]) == (1, 1)  # 2.000815 is offered by every commune in the sample


def test_without_ngay_hen_tra_the_deadline_is_our_due_date_at_receipt(database):
    plain = {"procedure_code": MARRIAGE, "unit_code": VIET_TRI, "received_at": at("2026-08-03")}
    ingest(database, [
        event("dossier.received", {"dossier_code": "N1", **plain}, at("2026-08-03")),
        event("dossier.received", {"dossier_code": "N2", **plain}, at("2026-08-03")),
        event("dossier.supplement_requested", {"dossier_code": "N2", "requested_at": at("2026-08-04")},
              at("2026-08-04")),
        event("dossier.supplement_received", {"dossier_code": "N2", "supplied_at": at("2026-08-07")}, at("2026-08-07")),
        event("dossier.resolved", {"dossier_code": "N2", "resolved_at": at("2026-08-13")}, at("2026-08-13")),
    ])
    with database.transaction() as session:
        views = {v.code: v for v in store.dossier_views(session, RULES, reads.parse_board_period("2026-08"))}
        doc = reads.unit_index(session, RULES, VIET_TRI, "2026-08", NOW)
    assert views["N1"].deadline == views["N2"].deadline == at("2026-08-10")  # 5 working days, whatever came after
    assert len(views["N2"].rounds) == 1 and views["N2"].rounds[0].supplied_at == at("2026-08-07")
    progress = next(i for g in doc["groups"] for i in g["indicators"] if i["code"] == "PROGRESS_ON_TIME")
    assert (progress["numerator"], progress["denominator"]) == (1, 2)  # N2 on time once its 3-day wait is subtracted
