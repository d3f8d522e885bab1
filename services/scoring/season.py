"""The PAR Index season of one unit in one criteria set (kỳ đánh giá): its statuses and the moves between them.

Pure rules, no database: the store (season_store.py) records every move as an action with its actor and time.

    not started → draft → submitted → under appraisal ⇄ explanation requested → appraised → published
    (chưa bắt đầu → đang tự đánh giá → đã gửi → đang thẩm định ⇄ đề nghị giải trình → đã thẩm định → đã công bố)

A move that the table does not allow is refused with :class:`SeasonError` naming the status it starts from and
the one it would reach, in Vietnamese (what the web page shows as it is).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Status(StrEnum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_APPRAISAL = "under_appraisal"
    EXPLANATION_REQUESTED = "explanation_requested"
    APPRAISED = "appraised"
    PUBLISHED = "published"


class Action(StrEnum):
    SAVE_DRAFT = "save_draft"  # the unit saves a leaf (points, thuyết minh, evidence files)
    SUBMIT = "submit"  # the unit's head sends the sheet: it is locked for the unit
    APPRAISE = "appraise"  # the council accepts or sets a leaf's points (with a reason)
    REQUEST_EXPLANATION = "request_explanation"  # the council asks the unit to explain a leaf (yêu cầu giải trình)
    ANSWER = "answer"  # the unit answers a request; the last open one returns the sheet to appraisal
    LOCK = "lock"  # the council closes the unit's appraisal (khóa kết quả thẩm định)
    PUBLISH = "publish"  # the Department of Home Affairs publishes the set's results (công bố)
    SET_DEADLINE = "set_deadline"  # the office sets the explanations' deadline (a set's setting, not a sheet move)


STATUS_TITLES: Mapping[Status, str] = {
    Status.NOT_STARTED: "Chưa bắt đầu",
    Status.DRAFT: "Đang tự đánh giá",
    Status.SUBMITTED: "Đã gửi tự đánh giá",
    Status.UNDER_APPRAISAL: "Đang thẩm định",
    Status.EXPLANATION_REQUESTED: "Đề nghị giải trình",
    Status.APPRAISED: "Đã thẩm định (khóa)",
    Status.PUBLISHED: "Đã công bố",
}

ACTION_TITLES: Mapping[Action, str] = {
    Action.SAVE_DRAFT: "lưu nháp tự đánh giá",
    Action.SUBMIT: "gửi tự đánh giá",
    Action.APPRAISE: "thẩm định tiêu chí",
    Action.REQUEST_EXPLANATION: "đề nghị giải trình",
    Action.ANSWER: "trả lời giải trình",
    Action.LOCK: "khóa kết quả thẩm định",
    Action.PUBLISH: "công bố kết quả",
    Action.SET_DEADLINE: "đặt hạn giải trình",
}

# (from, action) → to. ANSWER leads back to appraisal only when it closes the last open request (see transition).
MOVES: Mapping[tuple[Status, Action], Status] = {
    (Status.NOT_STARTED, Action.SAVE_DRAFT): Status.DRAFT,
    (Status.DRAFT, Action.SAVE_DRAFT): Status.DRAFT,
    (Status.DRAFT, Action.SUBMIT): Status.SUBMITTED,
    (Status.SUBMITTED, Action.APPRAISE): Status.UNDER_APPRAISAL,
    (Status.UNDER_APPRAISAL, Action.APPRAISE): Status.UNDER_APPRAISAL,
    (Status.EXPLANATION_REQUESTED, Action.APPRAISE): Status.EXPLANATION_REQUESTED,
    (Status.SUBMITTED, Action.REQUEST_EXPLANATION): Status.EXPLANATION_REQUESTED,
    (Status.UNDER_APPRAISAL, Action.REQUEST_EXPLANATION): Status.EXPLANATION_REQUESTED,
    (Status.EXPLANATION_REQUESTED, Action.REQUEST_EXPLANATION): Status.EXPLANATION_REQUESTED,
    (Status.EXPLANATION_REQUESTED, Action.ANSWER): Status.UNDER_APPRAISAL,
    (Status.SUBMITTED, Action.LOCK): Status.APPRAISED,
    (Status.UNDER_APPRAISAL, Action.LOCK): Status.APPRAISED,
    (Status.EXPLANATION_REQUESTED, Action.LOCK): Status.APPRAISED,  # only once every deadline has passed (store)
    (Status.APPRAISED, Action.PUBLISH): Status.PUBLISHED,
}

# Where an action would lead if it were allowed from anywhere: what a refusal names as "to".
_INTENDED: Mapping[Action, Status] = {
    Action.SAVE_DRAFT: Status.DRAFT, Action.SUBMIT: Status.SUBMITTED, Action.APPRAISE: Status.UNDER_APPRAISAL,
    Action.REQUEST_EXPLANATION: Status.EXPLANATION_REQUESTED, Action.ANSWER: Status.UNDER_APPRAISAL,
    Action.LOCK: Status.APPRAISED, Action.PUBLISH: Status.PUBLISHED,
}

# Statuses in which a sheet is with the council (counted as "in appraisal" on the office's progress view).
WITH_COUNCIL = frozenset({Status.SUBMITTED, Status.UNDER_APPRAISAL, Status.EXPLANATION_REQUESTED})


class SeasonError(ValueError):
    """A refused season step: ``field`` is what the form names, ``message`` the Vietnamese reason."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")  # what travels over RPC names the field first
        self.field = field
        self.message = message


class SeasonConflict(SeasonError):
    """Optimistic locking: someone changed the leaf since the form was read; ``message`` says what changed."""


class SeasonNotFound(LookupError):
    """An unknown set, unit, leaf or file (404 at the edge)."""


def transition(status: Status | str, action: Action | str, *, open_requests_after: int = 0) -> Status:
    """The status after ``action`` from ``status``, or SeasonError naming both (from → to) in Vietnamese.

    ``open_requests_after``: requests for explanation still unanswered once an ANSWER is recorded; the sheet goes
    back to appraisal only when it is 0.
    """
    current, act = Status(status), Action(action)
    target = MOVES.get((current, act))
    if target is None:
        intended = _INTENDED.get(act)
        if intended is None:
            raise SeasonError("action", f"“{ACTION_TITLES[act]}” không phải một bước của phiếu.")
        raise SeasonError("status", f"Không thể {ACTION_TITLES[act]}: chuyển từ “{STATUS_TITLES[current]}” sang "
                                    f"“{STATUS_TITLES[intended]}” không được phép.")
    if act is Action.ANSWER and open_requests_after > 0:
        return Status.EXPLANATION_REQUESTED
    return target


def allowed_actions(status: Status | str) -> frozenset[Action]:
    """What may be done next from ``status`` (the pages offer only these buttons; the server checks anyway)."""
    current = Status(status)
    return frozenset(action for (source, action) in MOVES if source is current)
