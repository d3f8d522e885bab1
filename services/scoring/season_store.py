"""The season in the scoring service's database: sheets, drafts with evidence files, the appraisal dialogue,
locking and publication. Every function runs in the caller's transaction and either does all it was asked or
raises before anything is written (checks first, writes last), so a refused step leaves nothing half-saved.

Rules live in season.py (statuses), evidence.py (files), scores.check_points (points on the leaf's step); the
points that count are written to ``leaf_scores`` through submissions (self-assessment at submission, the council's
verdicts), so the computation, the score history and the ranking keep one source.

Publication: a set becomes *seasonal* when its first sheet is opened. From then on the live ranking (rankings)
is provisional — only the office sees it — and ``ranking_updated`` is announced, and the ranking document
rebuilt, only when the office publishes (recalc.rerank asks :func:`announces`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.scoring import submissions
from services.scoring.criteria import CriteriaSet, Leaf, MethodKind
from services.scoring.evidence import DEFAULT_MAX_BYTES, CheckedFile, check_file
from services.scoring.models import LeafScore, OutboxEvent, Unit
from services.scoring.recalc import NotFound, current_set, ranking_table, rerank
from services.scoring.scores import ScoreError, check_points
from services.scoring.season import (
    ACTION_TITLES,
    STATUS_TITLES,
    WITH_COUNCIL,
    Action,
    SeasonConflict,
    SeasonError,
    SeasonNotFound,
    Status,
    allowed_actions,
    transition,
)
from services.scoring.season_models import (
    SeasonAction,
    SeasonFile,
    SeasonLeaf,
    SeasonPublication,
    SeasonSettings,
    SeasonSheet,
    blobs,
)
from shared.blobs import BlobStore
from shared.db import insert_ignore
from shared.inputs import text_problem, valid_id
from shared.local_time import local, local_iso
from shared.outbox import enqueue

MAX_TEXT = 4000
ACCEPT_REASON = "Chấp nhận điểm tự đánh giá"
Upload = tuple[str, bytes]  # (file name as given, bytes)


# -- small helpers -----------------------------------------------------------------------------------------------
def vi_points(value: Decimal | None) -> str:
    if value is None:
        return "–"
    text = format(value.normalize(), "f") if value != 0 else "0"
    return text.replace("-", "−").replace(".", ",")


def vi_moment(value: dt.datetime) -> str:
    return local(value).strftime("%H:%M ngày %d/%m/%Y")


def _for_update(session: Session, query: Any) -> Any:
    return query.with_for_update() if session.get_bind().dialect.name == "postgresql" else query


def _unit(session: Session, cs: CriteriaSet, unit_code: str) -> Unit:
    unit = session.get(Unit, unit_code)
    if unit is None or unit.kind != cs.unit_kind:
        raise SeasonNotFound(f"unit_code: no {cs.unit_kind} unit {unit_code!r} in set {cs.id}")
    return unit


def _leaf(cs: CriteriaSet, leaf_id: str) -> Leaf:
    try:
        return cs.leaf(leaf_id)
    except KeyError:
        raise SeasonNotFound(f"leaf_id: no criterion {leaf_id!r} in set {cs.id}") from None


def self_assessed(leaf: Leaf) -> bool:
    """Leaves the unit scores itself (self-assessed points and deductions); computed and survey ones are not."""
    return leaf.method.kind in (MethodKind.SELF, MethodKind.DEDUCTION)


def parse_points(text: Any, leaf: Leaf, field: str = "points") -> Decimal:
    """The unit's or council's points for ``leaf`` (a comma or a point as decimal mark), on the leaf's step."""
    raw = str(text if text is not None else "").strip().replace(",", ".").replace("−", "-")
    if not raw:
        raise SeasonError(field, f"Nhập số điểm của tiêu chí {leaf.id}.")
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        raise SeasonError(field, f"Điểm của tiêu chí {leaf.id}: “{text}” không phải là số.") from None
    if not value.is_finite():
        raise SeasonError(field, f"Điểm của tiêu chí {leaf.id}: “{text}” không phải là số.")
    try:
        # evidence is asked for at submission, not in a draft: give the check one reference so only points count
        check_points(leaf, value, ["(nháp)"], role="self" if self_assessed(leaf) else "appraisal")
    except ScoreError as exc:
        step = leaf.method.step if leaf.method.step is not None else Decimal("0.01")
        if leaf.is_deduction:
            bounds = f"từ {vi_points(-leaf.max_points)} đến 0 (điểm trừ)"
        else:
            bounds = f"từ 0 đến {vi_points(leaf.max_points)}"
        raise SeasonError(field, f"Điểm của tiêu chí {leaf.id} phải {bounds}, theo bước {vi_points(step)}; "
                                 f"{vi_points(value)} không hợp lệ.") from exc
    return value


def _text(value: Any, field: str, label: str, required: bool = False, minimum: int = 0) -> str:
    text = str(value or "").strip()
    if required and len(text) < max(1, minimum):
        raise SeasonError(field, f"Nhập {label}" + (f" (ít nhất {minimum} ký tự)." if minimum > 1 else "."))
    if len(text) > MAX_TEXT:
        raise SeasonError(field, f"{label[:1].upper()}{label[1:]} dài {len(text)} ký tự, quá giới hạn {MAX_TEXT}.")
    problem = text_problem(text, MAX_TEXT, multiline=True)  # NUL, control and bidi characters, for RPC callers too
    if problem:
        raise SeasonError(field, f"{label[:1].upper()}{label[1:]}: {problem}")
    return text


def _check_window(cs: CriteriaSet, now: dt.datetime) -> None:
    if now < cs.window_opens or now > cs.window_closes:
        when = "chưa mở" if now < cs.window_opens else "đã đóng"
        raise SeasonError("window", f"Thời hạn tự đánh giá {when}: từ {vi_moment(cs.window_opens)} đến "
                                    f"{vi_moment(cs.window_closes)} (bây giờ là {vi_moment(now)}).")


def _check_files(uploads: Iterable[Upload], max_bytes: int) -> list[CheckedFile]:
    return [check_file(name, data, max_bytes) for name, data in uploads]


def is_seasonal(session: Session, set_id: str) -> bool:
    """Whether the set runs its season on the web (``season: true`` in its definition). A property of the set,
    never of what happened to it: a unit opening a sheet must not turn a published ranking into a provisional one,
    nor may rankings announced before a season began stand beside its "not yet published"."""
    try:
        return current_set(session, set_id).season
    except NotFound:
        return False


def announces(session: Session, set_id: str) -> bool:
    """Whether a change of the live ranking is announced (ranking_updated): not for a seasonal set, whose ranking
    is announced when it is published."""
    return not is_seasonal(session, set_id)


def require_season(cs: CriteriaSet) -> None:
    if not cs.season:
        raise SeasonError("set_id", f"Bộ tiêu chí “{cs.title}” không tổ chức kỳ đánh giá trên hệ thống: mỗi lần "
                                    "đơn vị nộp chính thức, kết quả được tính và công bố ngay (bộ tiêu chí có "
                                    "“season: true” mới có tự đánh giá, thẩm định và công bố tại đây).")


def _sheet(session: Session, cs: CriteriaSet, unit_code: str, actor: str, now: dt.datetime) -> SeasonSheet:
    """The unit's sheet, locked for this transaction (opened as "not started" on first use)."""
    require_season(cs)
    _unit(session, cs, unit_code)
    session.execute(insert_ignore(session, SeasonSheet.__table__), [
        {"set_id": cs.id, "unit_code": unit_code, "status": Status.NOT_STARTED.value, "version": 1,
         "updated_at": now, "updated_by": actor}])
    return session.scalars(_for_update(session, sa.select(SeasonSheet).where(
        SeasonSheet.set_id == cs.id, SeasonSheet.unit_code == unit_code))).one()


def _leaf_row(session: Session, cs: CriteriaSet, unit_code: str, leaf_id: str, actor: str,
              now: dt.datetime) -> SeasonLeaf:
    session.execute(insert_ignore(session, SeasonLeaf.__table__), [
        {"set_id": cs.id, "unit_code": unit_code, "leaf_id": leaf_id, "version": 1, "updated_at": now,
         "updated_by": actor}])
    return session.scalars(_for_update(session, sa.select(SeasonLeaf).where(
        SeasonLeaf.set_id == cs.id, SeasonLeaf.unit_code == unit_code, SeasonLeaf.leaf_id == leaf_id))).one()


def _record(session: Session, cs: CriteriaSet, unit_code: str | None, leaf_id: str | None, action: Action,
            before: Status | None, after: Status | None, actor: str, now: dt.datetime,
            detail: Mapping[str, Any] | None = None) -> None:
    session.add(SeasonAction(set_id=cs.id, unit_code=unit_code, leaf_id=leaf_id, action=action.value,
                             from_status=before.value if before else None, to_status=after.value if after else None,
                             actor=actor, at=now, detail=dict(detail or {})))


def _move(session: Session, cs: CriteriaSet, sheet: SeasonSheet, action: Action, actor: str, now: dt.datetime,
          leaf_id: str | None = None, detail: Mapping[str, Any] | None = None, open_requests_after: int = 0) -> Status:
    before = Status(sheet.status)
    after = transition(before, action, open_requests_after=open_requests_after)
    sheet.status, sheet.version = after.value, sheet.version + 1
    sheet.updated_at, sheet.updated_by = now, actor
    _record(session, cs, sheet.unit_code, leaf_id, action, before, after, actor, now, detail)
    return after


def _store_files(session: Session, cs: CriteriaSet, unit_code: str, leaf_id: str, purpose: str,
                 files: Sequence[CheckedFile], actor: str, now: dt.datetime, max_bytes: int) -> list[int]:
    store = BlobStore(blobs, max(max_bytes, 1))
    rows = []
    for f in files:
        store.put(session, f.data, field=f"files.{f.filename}")
        row = SeasonFile(set_id=cs.id, unit_code=unit_code, leaf_id=leaf_id, purpose=purpose, filename=f.filename,
                         media_type=f.media_type, size=f.size, sha256=f.sha256, uploaded_by=actor, uploaded_at=now)
        session.add(row)
        rows.append(row)
    session.flush()
    return [r.id for r in rows]


def _check_version(session: Session, cs: CriteriaSet, row: SeasonLeaf, expected: Any) -> None:
    """Optimistic locking: the form read ``expected``; anything else means someone saved in between."""
    if expected in (None, ""):
        return
    try:
        seen = int(expected)
    except (TypeError, ValueError):
        raise SeasonError("version", "Phiên bản của biểu mẫu không hợp lệ: hãy tải lại trang.") from None
    if seen == row.version:
        return
    last = session.scalars(sa.select(SeasonAction).where(
        SeasonAction.set_id == cs.id, SeasonAction.unit_code == row.unit_code, SeasonAction.leaf_id == row.leaf_id)
        .order_by(SeasonAction.id.desc())).first()
    what = ""
    if last is not None:
        what = f" {last.actor} đã {ACTION_TITLES[Action(last.action)]} lúc {vi_moment(last.at)}"
        detail = last.detail or {}
        if detail.get("points") is not None:
            what += f" (điểm {vi_points(Decimal(str(detail['points'])))}"
            what += f", lý do: {detail['reason']})" if detail.get("reason") else ")"
        elif detail.get("request"):
            what += f" (nội dung: {detail['request']})"
        what += "."
    raise SeasonConflict("version", f"Tiêu chí {row.leaf_id} đã được thay đổi sau khi bạn mở trang.{what} "
                                    "Thay đổi của bạn chưa được lưu: hãy xem lại rồi lưu lại.")


# -- the unit: drafts and submission ----------------------------------------------------------------------------
def save_leaf(session: Session, cs: CriteriaSet, unit_code: str, leaf_id: str, points: Any, explanation: Any,
              uploads: Sequence[Upload], remove_file_ids: Sequence[int], actor: str, now: dt.datetime,
              max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Save one leaf of the unit's draft: points, thuyết minh, files added or removed."""
    leaf = _leaf(cs, leaf_id)
    if not self_assessed(leaf):
        raise SeasonError("leaf_id", f"Tiêu chí {leaf.id} không do đơn vị tự chấm (tính tự động hoặc điều tra xã "
                                     "hội học).")
    _check_window(cs, now)
    value = parse_points(points, leaf) if str(points or "").strip() else None
    text = _text(explanation, "explanation", "thuyết minh")
    checked = _check_files(uploads, max_bytes)
    sheet = _sheet(session, cs, unit_code, actor, now)
    transition(sheet.status, Action.SAVE_DRAFT)  # refused before anything is written
    if not all(valid_id(i) for i in remove_file_ids):
        raise SeasonNotFound(f"remove_file_ids: not files of {unit_code}/{leaf_id}")
    removing = list(remove_file_ids)
    if removing:
        owned = set(session.scalars(sa.select(SeasonFile.id).where(
            SeasonFile.id.in_(removing), SeasonFile.set_id == cs.id, SeasonFile.unit_code == unit_code,
            SeasonFile.leaf_id == leaf_id, SeasonFile.purpose == "evidence")))
        if owned != set(removing):
            raise SeasonNotFound(f"remove_file_ids: not files of {unit_code}/{leaf_id}")
        session.execute(sa.delete(SeasonFile).where(SeasonFile.id.in_(removing)))
    row = _leaf_row(session, cs, unit_code, leaf_id, actor, now)
    row.points, row.explanation = value, text or None
    row.version, row.updated_at, row.updated_by = row.version + 1, now, actor
    added = _store_files(session, cs, unit_code, leaf_id, "evidence", checked, actor, now, max_bytes)
    _move(session, cs, sheet, Action.SAVE_DRAFT, actor, now, leaf_id,
          {"points": None if value is None else str(value), "files_added": [f.filename for f in checked],
           "files_removed": removing})
    return {"leaf_id": leaf_id, "points": None if value is None else str(value), "files_added": added,
            "status": sheet.status, "version": row.version}


def submit(session: Session, cs: CriteriaSet, unit_code: str, actor: str, now: dt.datetime) -> dict[str, Any]:
    """The unit's head sends the sheet: every leaf that needs evidence has it, then the sheet is locked for the unit
    and its points become the unit's self-assessment (leaf_scores), recalculated."""
    _check_window(cs, now)
    sheet = _sheet(session, cs, unit_code, actor, now)
    transition(sheet.status, Action.SUBMIT)
    rows = {r.leaf_id: r for r in session.scalars(sa.select(SeasonLeaf).where(
        SeasonLeaf.set_id == cs.id, SeasonLeaf.unit_code == unit_code))}
    with_files = set(session.scalars(sa.select(SeasonFile.leaf_id).where(
        SeasonFile.set_id == cs.id, SeasonFile.unit_code == unit_code, SeasonFile.purpose == "evidence")))
    missing = [leaf.id for leaf in cs.leaves() if self_assessed(leaf) and leaf.method.evidence_required
               and rows.get(leaf.id) is not None and rows[leaf.id].points not in (None, Decimal(0))
               and leaf.id not in with_files]
    if missing:
        raise SeasonError("files", f"Chưa gửi được: {len(missing)} tiêu chí có điểm nhưng chưa có tài liệu kiểm "
                                   f"chứng — {', '.join(missing[:20])}{'…' if len(missing) > 20 else ''}.")
    files = _files_by_leaf(session, cs, unit_code)
    scores = [{"leaf_id": leaf_id, "points": str(r.points),
               "evidence": [f"sha256:{f['sha256']} {f['filename']}" for f in files.get(leaf_id, [])
                            if f["purpose"] == "evidence"]}
              for leaf_id, r in sorted(rows.items()) if r.points is not None]
    try:
        result = submissions.submit_scores(session, cs.id, unit_code, scores, actor, now, final=True)
    except ScoreError as exc:
        raise SeasonError(exc.field, f"Hệ thống chấm điểm không nhận: {exc.message}") from exc
    if result["errors"]:  # raising rolls the whole transaction back: nothing is half-submitted
        first = result["errors"][0]
        raise SeasonError("points", f"Hệ thống chấm điểm không nhận {first['field']}: {first['message']}")
    _move(session, cs, sheet, Action.SUBMIT, actor, now, detail={"leaves": len(scores), "index": result["index"]})
    return {"status": sheet.status, "leaves": len(scores), "index": result["index"]}


# -- the council: verdicts, requests, answers, lock ----------------------------------------------------------------
def set_explanation_deadline(session: Session, cs: CriteriaSet, deadline: dt.datetime, actor: str,
                             now: dt.datetime) -> dict[str, Any]:
    require_season(cs)
    if deadline.tzinfo is None:
        raise SeasonError("deadline", "Hạn giải trình cần có múi giờ.")
    if deadline <= now:
        raise SeasonError("deadline", f"Hạn giải trình {vi_moment(deadline)} đã qua: chọn một thời điểm sau "
                                      f"{vi_moment(now)}.")
    row = session.get(SeasonSettings, cs.id)
    if row is None:
        row = SeasonSettings(set_id=cs.id, updated_at=now, updated_by=actor)
        session.add(row)
    row.explanation_deadline, row.updated_at, row.updated_by = deadline, now, actor
    _record(session, cs, None, None, Action.SET_DEADLINE, None, None, actor, now, {"deadline": local_iso(deadline)})
    return {"set_id": cs.id, "explanation_deadline": local_iso(deadline)}


def appraise_leaf(session: Session, cs: CriteriaSet, unit_code: str, leaf_id: str, decision: str, points: Any,
                  reason: Any, expected_version: Any, actor: str, now: dt.datetime) -> dict[str, Any]:
    """The council's verdict on one leaf: ``accept`` the unit's points, ``adjust`` them (reason mandatory), or
    ``request`` an explanation (the reason is the question; the office's deadline applies)."""
    leaf = _leaf(cs, leaf_id)
    if decision not in ("accept", "adjust", "request"):
        raise SeasonError("decision", "Chọn một trong: chấp nhận, điều chỉnh điểm, đề nghị giải trình.")
    text = _text(reason, "reason", "lý do" if decision == "adjust" else "nội dung đề nghị giải trình",
                 required=decision != "accept", minimum=5)
    value = parse_points(points, leaf) if decision == "adjust" else None
    deadline = None
    if decision == "request":
        settings = session.get(SeasonSettings, cs.id)
        deadline = settings.explanation_deadline if settings else None
        if deadline is None or deadline <= now:
            raise SeasonError("deadline", "Sở Nội vụ chưa đặt hạn giải trình (hoặc hạn đã qua): chưa thể đề nghị "
                                          "giải trình.")
    sheet = _sheet(session, cs, unit_code, actor, now)
    action = Action.REQUEST_EXPLANATION if decision == "request" else Action.APPRAISE
    transition(sheet.status, action)
    row = _leaf_row(session, cs, unit_code, leaf_id, actor, now)
    _check_version(session, cs, row, expected_version)
    detail: dict[str, Any] = {"decision": decision}
    if decision == "request":
        row.request_text, row.request_deadline, row.answer_text, row.answered_at = text, deadline, None, None
        detail.update(request=text, deadline=local_iso(deadline))
        enqueue(session, OutboxEvent, "season_explanation_requested", {
            "set_id": cs.id, "set_title": cs.title, "unit_code": unit_code, "leaf_id": leaf.id,
            "leaf_title": leaf.title, "request": text, "deadline": local_iso(deadline), "actor": actor})
    else:
        if decision == "accept":
            score = session.get(LeafScore, (cs.id, unit_code, leaf_id))
            if leaf.method.kind is not MethodKind.COMPUTED and (score is None or score.self_points is None):
                raise SeasonError("decision", f"Tiêu chí {leaf.id} chưa có điểm tự đánh giá để chấp nhận: hãy "
                                              "điều chỉnh điểm kèm lý do.")
            value = score.self_points if score is not None and score.self_points is not None else None
            text = text or ACCEPT_REASON
        if value is not None:
            try:
                submissions.appraise(session, cs.id, unit_code, leaf_id, str(value), text, actor, now)
            except ScoreError as exc:
                raise SeasonError("points", f"Hệ thống chấm điểm không nhận: {exc.message}") from exc
        row.verdict, row.verdict_points, row.verdict_reason = ("accepted" if decision == "accept" else "adjusted",
                                                               value, text)
        detail.update(points=None if value is None else str(value), reason=text)
    row.version, row.updated_at, row.updated_by = row.version + 1, now, actor
    _move(session, cs, sheet, action, actor, now, leaf_id, detail)
    return {"leaf_id": leaf_id, "status": sheet.status, "version": row.version}


def answer(session: Session, cs: CriteriaSet, unit_code: str, leaf_id: str, text: Any, uploads: Sequence[Upload],
           actor: str, now: dt.datetime, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """The unit answers the council's request on a leaf, with text and files, before the deadline."""
    leaf = _leaf(cs, leaf_id)
    body = _text(text, "answer", "nội dung giải trình", required=True, minimum=5)
    checked = _check_files(uploads, max_bytes)
    sheet = _sheet(session, cs, unit_code, actor, now)
    row = _leaf_row(session, cs, unit_code, leaf_id, actor, now)
    if not row.request_text or row.answered_at is not None:
        raise SeasonError("answer", f"Tiêu chí {leaf.id} không có đề nghị giải trình đang chờ trả lời.")
    if row.request_deadline is not None and now > row.request_deadline:
        raise SeasonError("answer", f"Đã quá hạn giải trình ({vi_moment(row.request_deadline)}): không nhận trả "
                                    "lời sau hạn. Liên hệ Sở Nội vụ nếu cần.")
    transition(sheet.status, Action.ANSWER)
    open_after = session.scalar(sa.select(sa.func.count()).select_from(SeasonLeaf).where(
        SeasonLeaf.set_id == cs.id, SeasonLeaf.unit_code == unit_code, SeasonLeaf.request_text.is_not(None),
        SeasonLeaf.answered_at.is_(None), SeasonLeaf.leaf_id != leaf_id)) or 0
    row.answer_text, row.answered_at = body, now
    row.version, row.updated_at, row.updated_by = row.version + 1, now, actor
    _store_files(session, cs, unit_code, leaf_id, "answer", checked, actor, now, max_bytes)
    _move(session, cs, sheet, Action.ANSWER, actor, now, leaf_id,
          {"answer": body[:500], "files_added": [f.filename for f in checked]}, open_requests_after=int(open_after))
    enqueue(session, OutboxEvent, "season_explanation_answered", {
        "set_id": cs.id, "set_title": cs.title, "unit_code": unit_code, "leaf_id": leaf.id, "leaf_title": leaf.title,
        "answer": body[:1000], "files": len(checked), "actor": actor, "answered_at": local_iso(now)})
    return {"leaf_id": leaf_id, "status": sheet.status, "version": row.version}


def lock(session: Session, cs: CriteriaSet, unit_code: str, actor: str, now: dt.datetime) -> dict[str, Any]:
    """The council closes the unit's appraisal; open requests whose deadline has not passed keep it open."""
    sheet = _sheet(session, cs, unit_code, actor, now)
    transition(sheet.status, Action.LOCK)
    waiting = session.scalars(sa.select(SeasonLeaf.leaf_id).where(
        SeasonLeaf.set_id == cs.id, SeasonLeaf.unit_code == unit_code, SeasonLeaf.request_text.is_not(None),
        SeasonLeaf.answered_at.is_(None), SeasonLeaf.request_deadline > now)).all()
    if waiting:
        raise SeasonError("status", f"Chưa khóa được: đơn vị còn trong hạn giải trình các tiêu chí "
                                    f"{', '.join(sorted(waiting))}.")
    submissions.freeze_computed(session, cs, unit_code, actor, now)
    _move(session, cs, sheet, Action.LOCK, actor, now)
    return {"unit_code": unit_code, "status": sheet.status}


# -- the office: publication and progress ----------------------------------------------------------------------------
def publish(session: Session, cs: CriteriaSet, actor: str, now: dt.datetime) -> dict[str, Any]:
    """Publish the set's results: every appraised sheet becomes published, the ranking is recomputed, kept as
    published and announced (ranking_updated → the ranking document, the notifications)."""
    require_season(cs)
    sheets = list(session.scalars(_for_update(session, sa.select(SeasonSheet).where(SeasonSheet.set_id == cs.id)
                                              .order_by(SeasonSheet.unit_code))))
    pending = [s.unit_code for s in sheets if Status(s.status) in WITH_COUNCIL]
    if pending:
        raise SeasonError("status", f"Chưa công bố được: {len(pending)} đơn vị chưa được khóa kết quả thẩm định "
                                    f"({', '.join(pending[:10])}{'…' if len(pending) > 10 else ''}).")
    ready = [s for s in sheets if s.status == Status.APPRAISED.value]
    if not ready:
        raise SeasonError("status", "Chưa có đơn vị nào đã khóa kết quả thẩm định để công bố.")
    for sheet in ready:
        _move(session, cs, sheet, Action.PUBLISH, actor, now)
    ranking = rerank(session, cs, now, announce=True)
    number = (session.scalar(sa.select(sa.func.max(SeasonPublication.number))
                             .where(SeasonPublication.set_id == cs.id)) or 0) + 1
    session.add(SeasonPublication(set_id=cs.id, number=number, ranking_version=ranking["version"],
                                  table=ranking["table"], published_at=now, published_by=actor))
    _record(session, cs, None, None, Action.PUBLISH, None, Status.PUBLISHED, actor, now,
            {"number": number, "ranking_version": ranking["version"], "units": len(ready)})
    return {"set_id": cs.id, "number": number, "ranking_version": ranking["version"], "units": len(ready)}


def status_of(session: Session, set_id: str, unit_code: str) -> dict[str, Any]:
    sheet = session.get(SeasonSheet, (set_id, unit_code))
    return {"seasonal": is_seasonal(session, set_id),
            "status": sheet.status if sheet else Status.NOT_STARTED.value,
            "published": published_ranking_exists(session, set_id)}


def published_ranking_exists(session: Session, set_id: str) -> bool:
    return session.scalar(sa.select(SeasonPublication.number).where(SeasonPublication.set_id == set_id)
                          .limit(1)) is not None


def published_ranking(session: Session, cs: CriteriaSet) -> SeasonPublication | None:
    return session.scalars(sa.select(SeasonPublication).where(SeasonPublication.set_id == cs.id)
                           .order_by(SeasonPublication.number.desc())).first()


def published_view(session: Session, cs: CriteriaSet) -> dict[str, Any]:
    """What ``scoring.ranking`` answers for a set in a season: the latest published table (empty before the first
    publication), with the ranking version it was published at — the version the ranking document is built for."""
    published = published_ranking(session, cs)
    return {"set_id": cs.id, "set_version": cs.version, "title": cs.title, "year": cs.year,
            "unit_kind": cs.unit_kind, "version": published.ranking_version if published else 0,
            "computed_at": local_iso(published.published_at) if published else None,
            "published": published is not None, "season": True,
            "areas": [{"area_id": a.id, "title": a.title, "max_points": str(a.max_points)} for a in cs.areas],
            "table": published.table if published else []}


def provisional_ranking(session: Session, cs: CriteriaSet) -> dict[str, Any]:
    require_season(cs)
    return ranking_table(session, cs)


def progress(session: Session, cs: CriteriaSet) -> dict[str, Any]:
    """The office's view: every unit of the set's kind with its status, counts per status, and the disputed ones
    (an explanation asked for, or points the council changed)."""
    require_season(cs)
    units = session.execute(sa.select(Unit.unit_code, Unit.name).where(Unit.kind == cs.unit_kind)
                            .order_by(Unit.unit_code)).all()
    sheets = {s.unit_code: s for s in session.scalars(sa.select(SeasonSheet).where(SeasonSheet.set_id == cs.id))}
    leaves = session.execute(sa.select(SeasonLeaf.unit_code, SeasonLeaf.verdict, SeasonLeaf.request_text,
                                       SeasonLeaf.answered_at).where(SeasonLeaf.set_id == cs.id)).all()
    adjusted: Counter[str] = Counter()
    requested: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    for unit_code, verdict, request_text, answered_at in leaves:
        if verdict == "adjusted":
            adjusted[unit_code] += 1
        if request_text:
            requested[unit_code] += 1
            if answered_at is None:
                waiting[unit_code] += 1
    rows = []
    for code, name in units:
        sheet = sheets.get(code)
        status = Status(sheet.status) if sheet else Status.NOT_STARTED
        rows.append({"unit_code": code, "unit_name": name, "status": status.value,
                     "status_title": STATUS_TITLES[status], "adjusted": adjusted[code], "requested": requested[code],
                     "waiting": waiting[code], "disputed": bool(adjusted[code] or requested[code]),
                     "updated_at": local_iso(sheet.updated_at) if sheet else None})
    counts = Counter(r["status"] for r in rows)
    settings = session.get(SeasonSettings, cs.id)
    publication = published_ranking(session, cs)
    return {"set_id": cs.id, "title": cs.title, "units": rows,
            "counts": {s.value: counts.get(s.value, 0) for s in Status},
            "status_titles": {s.value: STATUS_TITLES[s] for s in Status},
            "with_council": sum(counts.get(s.value, 0) for s in WITH_COUNCIL),
            "sent": sum(counts.get(s.value, 0) for s in Status if s not in (Status.NOT_STARTED, Status.DRAFT)),
            "disputed": sum(1 for r in rows if r["disputed"]),
            "explanation_deadline": local_iso(settings.explanation_deadline) if settings and
            settings.explanation_deadline else None,
            "published": None if publication is None else {
                "number": publication.number, "ranking_version": publication.ranking_version,
                "published_at": local_iso(publication.published_at), "published_by": publication.published_by}}


# -- reading a sheet and its files ------------------------------------------------------------------------------------
def _files_by_leaf(session: Session, cs: CriteriaSet, unit_code: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for f in session.scalars(sa.select(SeasonFile).where(SeasonFile.set_id == cs.id, SeasonFile.unit_code == unit_code)
                             .order_by(SeasonFile.id)):
        found.setdefault(f.leaf_id, []).append({
            "file_id": f.id, "filename": f.filename, "media_type": f.media_type, "size": f.size, "sha256": f.sha256,
            "purpose": f.purpose, "uploaded_by": f.uploaded_by, "uploaded_at": local_iso(f.uploaded_at)})
    return found


def sheet_view(session: Session, cs: CriteriaSet, unit_code: str) -> dict[str, Any]:
    """Everything the season page of one unit shows: status, allowed next steps, each self-assessed leaf with its
    draft, files, verdict and dialogue, and the recorded actions newest first."""
    require_season(cs)
    _unit(session, cs, unit_code)
    sheet = session.get(SeasonSheet, (cs.id, unit_code))
    status = Status(sheet.status) if sheet else Status.NOT_STARTED
    rows = {r.leaf_id: r for r in session.scalars(sa.select(SeasonLeaf).where(
        SeasonLeaf.set_id == cs.id, SeasonLeaf.unit_code == unit_code))}
    scores = {r.leaf_id: r for r in session.scalars(sa.select(LeafScore).where(
        LeafScore.set_id == cs.id, LeafScore.unit_code == unit_code))}
    files = _files_by_leaf(session, cs, unit_code)
    leaves = []
    for leaf in cs.leaves():
        row, score = rows.get(leaf.id), scores.get(leaf.id)
        if not self_assessed(leaf) and row is None:
            continue
        leaves.append({
            "leaf_id": leaf.id, "title": leaf.title, "max_points": str(leaf.max_points), "area_id": leaf.area_id,
            "method": leaf.method.kind.value, "deduction": leaf.is_deduction,
            "step": str(leaf.method.step) if leaf.method.step is not None else None,
            "evidence_required": leaf.method.evidence_required,
            "points": _s(row.points if row else None), "explanation": row.explanation if row else None,
            "self_points": _s(score.self_points if score else None),
            "appraised_points": _s(score.appraised_points if score else None),
            "verdict": row.verdict if row else None, "verdict_points": _s(row.verdict_points if row else None),
            "verdict_reason": row.verdict_reason if row else None,
            "request_text": row.request_text if row else None,
            "request_deadline": local_iso(row.request_deadline) if row and row.request_deadline else None,
            "answer_text": row.answer_text if row else None,
            "answered_at": local_iso(row.answered_at) if row and row.answered_at else None,
            "version": row.version if row else 0, "files": files.get(leaf.id, [])})
    actions = session.scalars(sa.select(SeasonAction).where(SeasonAction.set_id == cs.id,
                                                            SeasonAction.unit_code == unit_code)
                              .order_by(SeasonAction.id.desc()).limit(200))
    return {"set_id": cs.id, "title": cs.title, "unit_code": unit_code, "status": status.value,
            "status_title": STATUS_TITLES[status], "version": sheet.version if sheet else 0,
            "allowed": sorted(a.value for a in allowed_actions(status)),
            "window": {"opens": local_iso(cs.window_opens), "closes": local_iso(cs.window_closes)},
            "leaves": leaves,
            "actions": [{"action": a.action, "action_title": ACTION_TITLES[Action(a.action)], "leaf_id": a.leaf_id,
                         "from_status": a.from_status, "to_status": a.to_status, "actor": a.actor,
                         "at": local_iso(a.at), "detail": a.detail or {}} for a in actions]}


def evidence_file(session: Session, file_id: int) -> dict[str, Any]:
    """One file with its bytes (the web checks the unit's scope before asking)."""
    f = session.get(SeasonFile, int(file_id))
    if f is None:
        raise SeasonNotFound(f"file_id: no file {file_id}")
    data = BlobStore(blobs, DEFAULT_MAX_BYTES * 4).get(session, f.sha256)
    return {"file_id": f.id, "set_id": f.set_id, "unit_code": f.unit_code, "leaf_id": f.leaf_id,
            "filename": f.filename, "media_type": f.media_type, "size": f.size, "sha256": f.sha256, "data": data}


def guard_legacy_change(session: Session, set_id: str, unit_code: str, what: str) -> None:
    """The older ways in (the RPCs submit_scores and appraise, the portal's score_submitted events) change nothing
    in a set that runs a season, whatever the unit's sheet: self-assessment and appraisal go through the season,
    with its evidence checks, version check and record of who did what. Letting them in for a unit with no sheet
    (or a draft) put a unit the season never saw into the published ranking; letting an event in after
    publication changed a published sheet."""
    cs = current_set(session, set_id)
    if not cs.season:
        return
    sheet = session.get(SeasonSheet, (set_id, unit_code))
    status = Status(sheet.status) if sheet else Status.NOT_STARTED
    if status in (Status.APPRAISED, Status.PUBLISHED):
        raise ScoreError("status", f"Phiếu của đơn vị {unit_code} đã khóa (“{STATUS_TITLES[status]}”): không thay "
                                   "đổi được nữa.")
    step = "tự đánh giá" if what == "self" else "thẩm định"
    raise ScoreError("set_id", f"Bộ tiêu chí {cs.id} chấm theo kỳ đánh giá: {step} trên trang Kỳ đánh giá "
                               f"(phiếu của đơn vị {unit_code}: “{STATUS_TITLES[status]}”).")


def _s(value: Any) -> str | None:
    return None if value is None else str(value)
