"""Synthetic one-door traffic: a seeded, realistic stream of dossier events for one province.

Why it exists: the dossiers service, the benchmarks and the end-to-end tests all need a month of traffic
that looks like what a real province's one-door software (phần mềm một cửa) publishes — volume spread over
departments and communes the way a published month spreads it, receipts in office hours, supplement rounds,
a few percent late, redelivered duplicates, everything out of order — *and* they need to know the right
answer. So the generator decides every dossier's fate first and builds its events so that the fate holds by
construction; :attr:`GeneratedTraffic.expected` is the ground truth the statistics must reproduce.

Ground truth is stated the way Decision 766 reports compare: at DATE granularity (finished local date
before / on / after the due local date), the due date coming from
:func:`services.dossiers.deadlines.compute_deadline` with the catalogue's processing time and cut-off and
the supplement rounds applied under the RESTART policy (the decree's practice). A procedure without a due
date never makes a dossier late: :func:`services.dossiers.outcomes.classify_finished` calls it on time.

Nothing here reads ``../shared`` at run time: the volume shape of Phú Thọ's published month 8/2026
(``766_phutho_tien_do_giai_quyet_2026-08.csv``) is hard-coded below as weights.
"""

from __future__ import annotations

import gc
import json
import random
import re
import unicodedata
import uuid
import zlib
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from math import exp
from pathlib import Path
from statistics import NormalDist
from typing import Any

from cchc.traffic766 import Facts766, Truth766
from services.dossiers.catalogue import Catalogue, Procedure
from services.dossiers.deadlines import (
    ProcessingTime,
    SupplementPolicy,
    SupplementRound,
    TimeUnit,
    compute_deadline,
)
from services.dossiers.units import Unit, UnitKind, UnitTree, load_portal_codes
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.events import make_envelope

__all__ = [
    "FINAL_STATES",
    "GeneratedTraffic",
    "TrafficSpec",
    "final_state",
    "generate",
    "read_jsonl",
    "write_jsonl",
]

#: The final states ``GeneratedTraffic.expected`` counts, as of ``TrafficSpec.now``.
FINAL_STATES = (
    "finished_early",
    "finished_on_time",
    "finished_late",
    "unfinished",
    "withdrawn",
    "rejected",
)


def final_state(closing: str | None, outcome: str | None) -> str:
    """The ground-truth state name of a stored dossier row (its ``closing`` and ``outcome`` columns)."""
    if closing == "finished":
        return f"finished_{outcome}"
    if closing in ("withdrawn", "rejected"):
        return closing
    return "unfinished" if closing is None else f"closing={closing}"



@dataclass(frozen=True)
class TrafficSpec:
    """What to generate. Shares are probabilities per dossier unless the comment says otherwise."""

    start: date  # receipts fall in [start, end] (local dates)
    end: date
    now: datetime  # aware; no event happens after it, and dossiers still open at `now` stay unfinished
    dossiers: int = 5000  # distinct dossiers
    late_share: float = 0.04  # of dossiers FINISHED by `now`, the share resolved after their due date
    supplement_share: float = 0.08  # share with a supplement round (a few of them with two rounds)
    withdrawn_share: float = 0.015
    rejected_share: float = 0.01
    duplicate_share: float = 0.20  # extra copies (same event_id) per distinct event, as the bus redelivers
    late_event_share: float = 0.5  # of late dossiers, share for which the one-door also sends dossier.late
    onedoor_due_mismatch_share: float = 0.01  # dossier.received whose due_at differs from ours (by days)
    seed: int = 766
    # Decision 766 facts and petitions (schema_version 2, cchc/traffic766.py); off, the stream is what it always was.
    index766: bool = False

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("TrafficSpec.now must be timezone-aware")
        if self.end < self.start:
            raise ValueError("TrafficSpec.end is before start")
        if self.dossiers < 0:
            raise ValueError("TrafficSpec.dossiers must not be negative")
        for name in (
            "late_share",
            "supplement_share",
            "withdrawn_share",
            "rejected_share",
            "late_event_share",
            "onedoor_due_mismatch_share",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"TrafficSpec.{name} must be within [0, 1]")
        if self.late_share >= 1.0:
            raise ValueError("TrafficSpec.late_share must be below 1")
        if self.duplicate_share < 0:
            raise ValueError("TrafficSpec.duplicate_share must not be negative")
        if self.withdrawn_share + self.rejected_share >= 1.0:
            raise ValueError("withdrawn_share + rejected_share must be below 1")


@dataclass
class GeneratedTraffic:
    messages: list[dict[str, Any]]  # envelopes (JSON-ready), shuffled, duplicates included
    distinct_events: int  # without duplicates
    dossiers: int
    # Ground truth per unit code (every unit that could have received, zero or not): a Counter of
    # FINAL_STATES as of `now`.
    expected: dict[str, Counter[str]]
    # Ground truth per dossier code, as of `now`: what tests that judge deadlines need (a count per unit
    # cannot say WHICH dossiers are overdue).
    truth: dict[str, DossierTruth] = field(default_factory=dict)
    # With TrafficSpec.index766: the Decision 766 facts and petitions as sent, and the procedure facts to import.
    truth766: Truth766 | None = None

    def open_past_due(self, granularity: str = "date") -> set[str]:
        """Codes of the dossiers that are open, not waiting for a supplement, and past their due date at
        `now`: exactly the ones the deadline scan must announce late."""
        return {code for code, t in self.truth.items() if t.open_past_due(granularity)}


@dataclass(frozen=True)
class DossierTruth:
    """One dossier as of ``TrafficSpec.now``, from the generator's own plan (not from the service's rules)."""

    unit_code: str
    state: str  # one of FINAL_STATES
    due_at: datetime | None  # after the supplement rounds completed by `now` (RESTART), local time
    paused: bool  # a supplement was requested by `now` and not supplied by then
    now: datetime

    def open_past_due(self, granularity: str = "date") -> bool:
        if self.state != "unfinished" or self.paused or self.due_at is None:
            return False
        if granularity == "date":
            return self.due_at.date() < self.now.astimezone(LOCAL_TZ).date()
        return self.due_at < self.now


# --------------------------------------------------------------------------------------------------------
# The shape of a real month (Phú Thọ, 8/2026), hard-coded.
# --------------------------------------------------------------------------------------------------------

# Monthly dossiers received per department, keyed by a fragment of its name. One department (agriculture
# and environment: land registration) dwarfs the rest; the People's Committee office and the inspectorate
# receive nothing. The first matching fragment wins, so more specific fragments come first.
_DEPARTMENT_VOLUME: tuple[tuple[str, float], ...] = (
    ("khu công nghiệp", 588),
    ("nông nghiệp", 28209),
    ("tài nguyên", 28209),
    ("nội vụ", 2739),
    ("lao động", 2739),
    ("y tế", 1624),
    ("xây dựng", 1611),
    ("giao thông", 1611),
    ("công thương", 482),
    ("giáo dục", 326),
    ("khoa học", 177),
    ("thông tin", 177),
    ("tài chính", 171),
    ("kế hoạch", 171),
    ("tư pháp", 32),
    ("dân tộc", 5),
    ("ngoại vụ", 2),
    ("văn phòng", 0),
    ("thanh tra", 0),
)
_DEPARTMENT_DEFAULT_VOLUME = 150.0  # a department the published month does not list (culture, …)
# Communes: a log-normal fitted to the 148 published communes (median 852 a month, quartiles 520 / 1,277,
# range 181–2,971); wards (phường), the towns, take more than rural communes (xã).
_COMMUNE_MEDIAN = 852.0
_COMMUNE_SIGMA = 0.67
_COMMUNE_RANGE = (181.0, 2971.0)
_WARD_FACTOR = 1.4
_DISTRICT_VOLUME = 3000.0  # a pre-2025 district, when the period reaches back before the 2025 merger

# Which department handles a field of province-level procedures: (field fragments, unit-name fragments).
# The first rule whose field fragment matches decides; a field no rule names goes to a department chosen
# by a stable hash, so that every procedure has a home.
_FIELD_TO_DEPARTMENT: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("khu công nghiệp", "khu kinh tế"), ("khu công nghiệp",)),
    (
        ("đất đai", "môi trường", "nông nghiệp", "thủy lợi", "lâm nghiệp", "thú y", "trồng trọt", "tài nguyên",
         "khoáng sản", "thủy sản", "chăn nuôi", "đo đạc", "khí tượng"),
        ("nông nghiệp", "tài nguyên"),
    ),
    (("y tế", "dược", "khám bệnh", "an toàn thực phẩm"), ("y tế",)),
    (("xây dựng", "quy hoạch", "nhà ở", "bất động sản", "giao thông", "đường bộ", "kiến trúc"),
     ("xây dựng", "giao thông")),
    (("giáo dục", "đào tạo", "văn bằng"), ("giáo dục",)),
    (("khoa học", "công nghệ", "sở hữu trí tuệ", "đo lường", "viễn thông", "bưu chính", "báo chí", "xuất bản"),
     ("khoa học", "thông tin")),
    (("công thương", "thương mại", "hóa chất", "xăng dầu", "điện lực"), ("công thương",)),
    (("tài chính", "đầu tư", "doanh nghiệp", "đăng ký kinh doanh", "hợp tác xã", "ngân sách"),
     ("tài chính", "kế hoạch")),
    (("tư pháp", "hộ tịch", "công chứng", "luật sư", "lý lịch", "giám định", "đấu giá", "con nuôi", "quốc tịch"),
     ("tư pháp",)),
    (("dân tộc", "tôn giáo", "tín ngưỡng"), ("dân tộc",)),
    (("nội vụ", "lao động", "việc làm", "người có công", "thi đua", "công chức", "viên chức", "bảo trợ"),
     ("nội vụ", "lao động")),
    (("văn hóa", "thể thao", "du lịch", "gia đình", "di sản"), ("văn hóa",)),
    (("ngoại vụ", "lãnh sự"), ("ngoại vụ",)),
    (("thanh tra", "khiếu nại", "tố cáo", "tiếp công dân"), ("thanh tra",)),
)
# Fields a department handles besides its own: the industrial-zone board issues work permits,
# environmental and construction permits for the zones.
_DEPARTMENT_EXTRA_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("khu công nghiệp", ("lao động", "môi trường", "xây dựng")),
)
# Fields that dominate a counter: civil status and certification at communes, land everywhere.
_BUSY_FIELDS = ("hộ tịch", "chứng thực", "đất đai")

# National-portal agency code prefix per province (MaHoSo starts with the handling agency's portal code).
_PORTAL_PREFIX = {25: "H44"}
_PORTAL_CODE = re.compile(r"^H\d{2}\.\d+$")

# Receipt timing. The office-hours share is what is left after lunch, evenings and non-working Saturdays,
# all of which can only be online submissions.
_LUNCH_SHARE = 0.05
_AFTER_HOURS_SHARE = 0.07
_SATURDAY_SHARE = 0.02
_MORNING_SHARE = 0.6  # of office-hours receipts: morning counters are busier
# Channel mix overall (in person / online / post ≈ 55 / 43 / 2); off-hours receipts are all online, so
# office-hours receipts alone carry the in-person and post shares.
_IN_PERSON_SHARE = 0.55
_POST_SHARE = 0.02
_WEEKDAY_WEIGHT = (1.25, 1.1, 1.0, 1.0, 0.9, 0.6, 0.3)  # Monday … Sunday (weekends only when worked)

_TWO_ROUNDS_SHARE = 0.15  # of dossiers with a supplement round
_ON_TIME_SHARE = 0.2  # of dossiers finished in time, share finished on the due date itself (rest: early)
_RETURNED_SHARE = 0.9  # of resolved dossiers, share whose result is handed back (dossier.returned)
_WITHDRAWN_PENDING_SHARE = 0.35  # of withdrawn dossiers with a supplement round: request left unanswered
_SUPPLEMENT_WAIT_DAYS = ((1, 2, 3, 4, 5, 7, 10, 15), (14, 24, 20, 14, 10, 10, 6, 2))
_LATE_BY_DAYS = ((1, 2, 3, 4, 5, 7, 10, 15, 25), (30, 20, 14, 9, 8, 8, 6, 3, 2))
_NO_DEADLINE_DAYS = ((0, 1, 2, 3, 5, 8, 12, 20), (5, 15, 20, 20, 15, 12, 8, 5))

_REJECT_REASONS = (
    "Hồ sơ không đủ điều kiện tiếp nhận theo quy định.",
    "Thành phần hồ sơ không đúng với thủ tục đề nghị.",
    "Không thuộc thẩm quyền giải quyết của cơ quan.",
    "Đối tượng không thuộc diện được giải quyết.",
)
_WITHDRAW_REASONS = (
    "Công dân đề nghị rút hồ sơ.",
    "Tổ chức đề nghị rút hồ sơ để bổ sung sau.",
    "Người nộp không tiếp tục thực hiện thủ tục.",
    None,
)
_SUPPLEMENT_REASONS = (
    "Bổ sung bản sao có chứng thực giấy tờ tùy thân.",
    "Bổ sung trích lục bản đồ địa chính.",
    "Hoàn thiện tờ khai theo mẫu.",
    "Bổ sung văn bản ủy quyền.",
    "Bổ sung giấy tờ chứng minh nơi cư trú.",
    "Thông tin trên tờ khai chưa khớp với giấy tờ kèm theo.",
)
_LATE_REASONS = (
    "Hồ sơ phải lấy ý kiến cơ quan liên quan.",
    "Cần xác minh thực địa.",
    "Quá tải hồ sơ tại bộ phận chuyên môn.",
    None,
)

# Applicants. Surname frequencies roughly as published for Vietnam.
_SURNAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
    "Đinh", "Trịnh", "Đào", "Cao", "Hà", "Lương", "Tạ",
)
_SURNAME_CUM = list(accumulate((38, 11, 9.5, 7, 5, 4.5, 4, 2.1, 2, 1.4, 1.3, 1.3, 1, 0.5, 0.8, 0.6, 0.6, 0.5,
                                0.6, 0.3, 0.3)))
_MIDDLE_MALE = ("Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Xuân", "Thanh", "Công", "Ngọc", "Mạnh")
_MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Minh", "Phương", "Kim", "Bích")
_GIVEN_MALE = (
    "Anh", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Huy", "Khánh", "Long", "Nam", "Phong",
    "Quân", "Sơn", "Thắng", "Thành", "Toàn", "Trung", "Tuấn", "Việt", "Vinh", "Hoàng", "Kiên", "Tùng",
)
_GIVEN_FEMALE = (
    "Anh", "Chi", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hoa", "Hương", "Huyền", "Lan", "Linh", "Loan",
    "Mai", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo", "Trang", "Tuyết", "Vân", "Yến",
)
_BUSINESS_FORMS = ("Công ty TNHH", "Công ty TNHH MTV", "Công ty Cổ phần", "Hợp tác xã", "Doanh nghiệp tư nhân")
_BUSINESS_TRADES = (
    "Thương mại và Dịch vụ", "Xây dựng", "Đầu tư và Phát triển", "Nông nghiệp Công nghệ cao", "Vận tải",
    "May mặc", "Chè", "Vật liệu Xây dựng", "Dược phẩm", "Cơ khí", "Gỗ", "Thực phẩm",
)
_BRANDS = (
    "Hùng Vương", "Phong Châu", "Sông Lô", "Đất Tổ", "Việt Trì", "An Phát", "Minh Long", "Thành Đạt",
    "Phú Thịnh", "Hưng Thịnh", "Tân Việt", "Hoàng Gia", "Bảo Ngọc", "Đại Dương", "Trường Sơn", "Sao Mai",
)
_BRAND_SLUGS = {brand: re.sub(r"[^a-z]", "", "".join(
    ch for ch in unicodedata.normalize("NFD", brand.replace("Đ", "D").replace("đ", "d"))
    if not unicodedata.combining(ch)
).lower()) for brand in _BRANDS}
_MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com")
_MAIL_DOMAIN_CUM = list(accumulate((80, 6, 5, 3, 2)))
_MOBILE_PREFIXES = (
    "086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039",  # Viettel
    "088", "091", "094", "081", "082", "083", "084", "085",  # Vinaphone
    "089", "090", "093", "070", "076", "077", "078", "079",  # Mobifone
    "056", "058",
)


# --------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------


def generate(
    spec: TrafficSpec, tree: UnitTree, catalogue: Catalogue, calendar: WorkingCalendar
) -> GeneratedTraffic:
    """Generate the stream described by ``spec`` for ``tree``'s province; the same spec gives the same
    messages, in the same order, with the same event ids.

    The cyclic garbage collector is paused meanwhile: a run allocates a million small acyclic containers,
    and the collector's repeated full-heap passes over them cost about a third of the run (more when the
    caller still holds an earlier stream) while finding nothing to free.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Generator(spec, tree, catalogue, calendar).run()
    finally:
        if was_enabled:
            gc.enable()


def write_jsonl(messages: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write one envelope per line (UTF-8, Vietnamese kept readable); return how many were written.

    JSON Lines because the replay tool and the publisher stream it without loading a month into memory.
    """
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for message in messages:
            handle.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")
            count += 1
    return count


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the envelopes of a JSON Lines file lazily, skipping blank lines."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


# --------------------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------------------


class _WorkingDays:
    """Working days as an indexable list, so "the N-th working day after d" is a list lookup.

    The generator asks the same few hundred dates hundreds of thousands of times; the calendar is asked
    once per date.
    """

    def __init__(self, calendar: WorkingCalendar, first: date, last: date) -> None:
        self._calendar = calendar
        self._first = first
        self._last = first - timedelta(days=1)
        self.days: list[date] = []
        self._working: set[date] = set()
        self._extend(last)

    def _extend(self, last: date) -> None:
        day = self._last + timedelta(days=1)
        while day <= last:
            if self._calendar.is_working_day(day):
                self._working.add(day)
                self.days.append(day)
            day += timedelta(days=1)
        self._last = max(self._last, last)

    def is_working(self, day: date) -> bool:
        if day > self._last:
            self._extend(day + timedelta(days=120))
        return day in self._working

    def index_at_or_after(self, day: date) -> int:
        """Index of the first working day on or after ``day``."""
        if day < self._first:
            raise ValueError(f"{day} is before the generator's calendar window")
        while not self.days or day > self.days[-1]:
            self._extend(self._last + timedelta(days=120))
        return bisect_left(self.days, day)

    def at(self, index: int) -> date:
        if index < 0:
            raise ValueError("working day index before the generator's calendar window")
        while index >= len(self.days):
            self._extend(self._last + timedelta(days=120))
        return self.days[index]


_Round = tuple[datetime, datetime | None]  # a supplement round: requested, supplied (None: not yet)


@dataclass(slots=True)
class _Dossier:
    """One dossier's fate, decided before any of its events is written."""

    unit: Unit
    procedure: Procedure
    received_at: datetime
    channel: str
    applicant: dict[str, str]
    code: str = ""
    fate: str = "resolve"  # resolve | withdraw | reject
    initial_due: datetime | None = None  # what the one-door announces at receipt (None: no deadline)
    rounds: list[tuple[datetime, datetime | None]] | None = None
    due: datetime | None = None  # after every supplement round (RESTART)
    ok_at: datetime | None = None  # finish time if the dossier is not late
    ok_state: str = "finished_early"
    late_at: datetime | None = None  # finish time if it is late (None: it cannot be late)
    end_at: datetime | None = None  # withdrawal or rejection time
    late: bool = False


def _fold(text: str) -> str:
    """Lower-case NFC text, for fragment matching (names arrive in either normal form)."""
    return unicodedata.normalize("NFC", text).casefold()


def _ascii(text: str) -> str:
    """Strip Vietnamese diacritics (đ → d): e-mail local parts and source slugs are ASCII."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _stable_uniform(key: str) -> float:
    """A uniform number in (0, 1) fixed by ``key``: a unit's size is a property of the province, not of
    the seed, so two seeds give two different months of the same province."""
    return (zlib.crc32(key.encode("utf-8")) + 0.5) / 2**32


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _second_of_day(moment: datetime) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _copy_message(message: dict[str, Any]) -> dict[str, Any]:
    """An independent copy: a consumer that mutates one delivery must not change the other."""
    copy = dict(message)
    payload = dict(message["payload"])
    for key, value in payload.items():
        if isinstance(value, dict):  # the applicant, a payment
            payload[key] = dict(value)
        elif isinstance(value, list):  # components, fee lines
            payload[key] = [dict(item) if isinstance(item, dict) else item for item in value]
    copy["payload"] = payload
    return copy


class _Generator:
    """One run of :func:`generate`; all randomness comes from one ``random.Random(spec.seed)``."""

    def __init__(
        self, spec: TrafficSpec, tree: UnitTree, catalogue: Catalogue, calendar: WorkingCalendar
    ) -> None:
        self.spec = spec
        self.tree = tree
        self.catalogue = catalogue
        self.calendar = calendar
        self.rng = random.Random(spec.seed)
        self.now = spec.now.astimezone(LOCAL_TZ)
        self.last_receipt = min(spec.end, self.now.date())
        if self.last_receipt < spec.start:
            raise ValueError("no receipt possible: `now` is before the period starts")
        self.workdays = _WorkingDays(calendar, spec.start - timedelta(days=7), max(spec.end, self.now.date()))
        # Office sessions in seconds after midnight, from the calendar (07:30–11:30, 13:00–17:00 by default).
        self.sessions = [(_seconds(s.start), _seconds(s.end)) for s in calendar.sessions]
        self.opens, self.closes = self.sessions[0][0], self.sessions[-1][1]
        self.office_seconds = sum(hi - lo for lo, hi in self.sessions)
        self.lunch = (
            (self.sessions[0][1], self.sessions[1][0]) if len(self.sessions) > 1 else (self.closes, self.closes)
        )
        self.midnights: dict[date, datetime] = {}
        self.processing: dict[str, ProcessingTime] = {}
        self.root = next((unit for unit in tree if unit.kind == UnitKind.PROVINCE), None)
        self.source = self._source()
        self.province_name = self._province_name()
        self.portal_prefix = self._portal_prefix()
        self.ward_portal_codes = self._ward_portal_codes()
        self.is_ward: dict[str, bool] = {}
        self.facts766 = Facts766(spec.seed, self.now, calendar, self.source) if spec.index766 else None

    # ---- province facts -------------------------------------------------------------------------------

    def _bare_province_name(self) -> str:
        if self.root is None:
            return ""
        name = unicodedata.normalize("NFC", self.root.name).strip()
        return re.sub(r"(?i)^(ủy ban nhân dân|ubnd)\s+", "", name)

    def _source(self) -> str:
        """``onedoor.<province>`` (onedoor.phutho), from the root unit's name."""
        name = re.sub(r"(?i)^(tỉnh|thành phố)\s+", "", self._bare_province_name())
        slug = re.sub(r"[^a-z0-9]", "", _ascii(name).lower())
        return f"onedoor.{slug}" if slug else "onedoor"

    def _province_name(self) -> str:
        """'tỉnh Phú Thọ', the last part of an applicant's address."""
        name = self._bare_province_name()
        if not name or re.match(r"(?i)^(tỉnh|thành phố)\s", name):
            return name
        return f"tỉnh {name}"

    def _portal_prefix(self) -> str:
        digits = re.sub(r"\D", "", self.root.code) if self.root is not None else ""
        number = int(digits) if digits else None
        if number in _PORTAL_PREFIX:
            return _PORTAL_PREFIX[number]
        return self.root.code if self.root is not None else "H00"

    @staticmethod
    def _ward_portal_codes() -> dict[str, str]:
        """Ward code → national-portal agency code (07900 → H44.100), where the packaged map knows it."""
        try:
            return {ward: portal for portal, ward in load_portal_codes().items()}
        except (OSError, ValueError):
            return {}

    # ---- units and procedures -------------------------------------------------------------------------

    def _eligible_units(self) -> list[Unit]:
        """Units that handle dossiers and exist at some point of the receipt period."""
        kinds = {UnitKind.DEPARTMENT, UnitKind.COMMUNE, UnitKind.DISTRICT}
        return [
            unit
            for unit in self.tree
            if unit.kind in kinds
            and (unit.valid_from is None or unit.valid_from <= self.last_receipt)
            and (unit.valid_to is None or unit.valid_to >= self.spec.start)
        ]

    @staticmethod
    def _volume(unit: Unit) -> float:
        """The unit's monthly volume in the published month, used as its sampling weight."""
        if unit.kind == UnitKind.DEPARTMENT:
            name = _fold(unit.name)
            for fragment, volume in _DEPARTMENT_VOLUME:
                if fragment in name:
                    return volume
            return _DEPARTMENT_DEFAULT_VOLUME
        if unit.kind == UnitKind.DISTRICT:
            return _DISTRICT_VOLUME
        z = NormalDist().inv_cdf(_stable_uniform(unit.code))
        volume = min(max(_COMMUNE_MEDIAN * exp(_COMMUNE_SIGMA * z), _COMMUNE_RANGE[0]), _COMMUNE_RANGE[1])
        return volume * (_WARD_FACTOR if _fold(unit.name).startswith("phường") else 1.0)

    def _usable(self, procedure: Procedure) -> bool:
        """Whether the deadline module can compute this procedure's due date (or it has none).

        ``ProcessingTime`` refuses an amount of 0 ("the same day" in the catalogue); such procedures are
        left out rather than given a due date the service would not compute.
        """
        if procedure.time_unit == TimeUnit.NONE:
            return True
        if procedure.processing_amount is None:
            return False
        try:
            self.processing[procedure.code] = ProcessingTime(procedure.processing_amount, TimeUnit(procedure.time_unit))
        except ValueError:
            return False
        return True

    @staticmethod
    def _procedure_weights(procedures: Sequence[Procedure], busy: Sequence[str]) -> list[float]:
        """Zipf-like popularity in an order fixed by procedure code, busy fields boosted: a handful of
        procedures make most of a counter's dossiers."""
        order = sorted(range(len(procedures)), key=lambda i: _stable_uniform(procedures[i].code))
        weights = [0.0] * len(procedures)
        for rank, i in enumerate(order, start=1):
            field = _fold(procedures[i].field or "")
            boost = 6.0 if any(fragment in field for fragment in busy) else 1.0
            weights[i] = boost / rank**1.1
        return weights

    def _department_procedures(
        self, departments: Sequence[Unit], procedures: Sequence[Procedure]
    ) -> dict[str, list[Procedure]]:
        """Split province-level procedures among departments by field: the Department of Health handles
        health dossiers, not land ones."""
        names = {unit.code: _fold(unit.name) for unit in departments}
        receiving = [u.code for u in departments if self._volume(u) > 0] or [u.code for u in departments]
        owners: dict[str, str | None] = {}
        result: dict[str, list[Procedure]] = {unit.code: [] for unit in departments}
        for procedure in procedures:
            field = procedure.field or ""
            if field not in owners:
                owners[field] = self._field_owner(field, names, receiving)
            owner = owners[field]
            if owner is not None:
                result[owner].append(procedure)
            folded = _fold(field)
            for code, name in names.items():
                for unit_fragment, fields in _DEPARTMENT_EXTRA_FIELDS:
                    if unit_fragment in name and code != owner and any(f in folded for f in fields):
                        result[code].append(procedure)
        return result

    @staticmethod
    def _field_owner(field: str, names: dict[str, str], receiving: Sequence[str]) -> str | None:
        folded = _fold(field)
        for field_fragments, unit_fragments in _FIELD_TO_DEPARTMENT:
            if any(fragment in folded for fragment in field_fragments):
                for code, name in names.items():
                    if any(fragment in name for fragment in unit_fragments):
                        return code
                break
        return receiving[zlib.crc32(field.encode("utf-8")) % len(receiving)] if receiving else None

    # ---- time helpers ---------------------------------------------------------------------------------

    def _at(self, day: date, second: int) -> datetime:
        base = self.midnights.get(day)
        if base is None:
            base = self.midnights[day] = datetime.combine(day, time(), LOCAL_TZ)
        return base + timedelta(seconds=second)

    def _office_second(self, after: int = -1) -> int | None:
        """A second of the day inside an office session, later than ``after``; None if none is left."""
        if after < self.opens:  # the common case: the whole working day
            pick = self.rng.randrange(self.office_seconds)
            for lo, hi in self.sessions:
                if pick < hi - lo:
                    return lo + pick
                pick -= hi - lo
        segments = [(max(lo, after + 1), hi) for lo, hi in self.sessions if hi > max(lo, after + 1)]
        total = sum(hi - lo for lo, hi in segments)
        if total <= 0:
            return None
        pick = self.rng.randrange(total)
        for lo, hi in segments:
            if pick < hi - lo:
                return lo + pick
            pick -= hi - lo
        raise AssertionError("unreachable")

    def _office_instant(self, day: date, after: datetime | None) -> datetime | None:
        """An office-hours instant on ``day``, at least a minute after ``after`` when that is the same day."""
        floor = _second_of_day(after) + 59 if after is not None and after.date() == day else -1
        second = self._office_second(floor)
        return None if second is None else self._at(day, second)

    def _working_instant_from(self, index: int, after: datetime) -> datetime:
        """The first working day from index ``index`` on that has an office instant after ``after``, and one
        such instant."""
        while True:
            day = self.workdays.at(index)
            if day >= after.date():
                moment = self._office_instant(day, after)
                if moment is not None:
                    return moment
            index += 1

    def _day_between(self, after: datetime, before: date, skew: float) -> int:
        """Index of a working day d with after.date() <= d < before, drawn with a bias towards the start
        for ``skew`` > 1; the first working day from ``after`` on when there is none."""
        lo = self.workdays.index_at_or_after(after.date())
        hi = self.workdays.index_at_or_after(before)
        if hi <= lo:
            return lo
        return lo + int((hi - lo) * self.rng.random() ** skew)

    # ---- receipts -------------------------------------------------------------------------------------

    def _receipt_days(self, unit: Unit) -> tuple[list[date], list[float], list[date]]:
        """(working days, their cumulative weights, non-working Saturdays) on which ``unit`` can receive."""
        lo = max(self.spec.start, unit.valid_from or self.spec.start)
        hi = min(self.last_receipt, unit.valid_to or self.last_receipt)
        days, weights, saturdays = [], [], []
        day = lo
        while day <= hi:
            if self.workdays.is_working(day):
                days.append(day)
                weights.append(_WEEKDAY_WEIGHT[day.weekday()])
            elif day.weekday() == 5:
                saturdays.append(day)
            day += timedelta(days=1)
        return days, list(accumulate(weights)), saturdays

    def _receipt(self, day: date, saturdays: list[date]) -> tuple[datetime, str]:
        """Receipt instant and channel: office hours in person, online at any hour, a few by post."""
        rng = self.rng
        roll = rng.random()
        off_hours = _SATURDAY_SHARE + _LUNCH_SHARE + _AFTER_HOURS_SHARE
        if roll < _SATURDAY_SHARE and saturdays:
            moment, channel = self._at(rng.choice(saturdays), rng.randrange(7 * 3600, 22 * 3600)), "online"
        elif roll < _SATURDAY_SHARE + _LUNCH_SHARE and self.lunch[1] > self.lunch[0]:
            moment, channel = self._at(day, rng.randrange(*self.lunch)), "online"
        elif roll < off_hours:
            if rng.random() < 0.8:
                second = rng.randrange(self.closes, 23 * 3600) if self.closes < 23 * 3600 else self.closes
            else:
                second = rng.randrange(5 * 3600, self.opens) if self.opens > 5 * 3600 else 0
            moment, channel = self._at(day, second), "online"
        else:
            lo, hi = self.sessions[0] if rng.random() < _MORNING_SHARE else self.sessions[-1]
            moment = self._at(day, rng.randrange(lo, hi))
            channel_roll = rng.random() * (1.0 - off_hours)
            if channel_roll < _IN_PERSON_SHARE:
                channel = "in_person"
            elif channel_roll < _IN_PERSON_SHARE + _POST_SHARE:
                channel = "post"
            else:
                channel = "online"
        if moment > self.now:
            # A receipt "today" can only have happened before now.
            midnight = self._at(moment.date(), 0)
            moment = midnight + (self.now - midnight) * rng.random()
            moment = moment.replace(microsecond=0)
        return moment, channel

    # ---- applicants -----------------------------------------------------------------------------------

    def _applicant(self, unit: Unit, channel: str, communes: Sequence[Unit]) -> dict[str, str]:
        rng = self.rng
        business = rng.random() < (0.35 if unit.kind == UnitKind.DEPARTMENT else 0.06)
        applicant: dict[str, str] = {"kind": "business" if business else "citizen"}
        if business:
            brand = rng.choice(_BRANDS)
            slug = _BRAND_SLUGS[brand]
            applicant["name"] = f"{rng.choice(_BUSINESS_FORMS)} {rng.choice(_BUSINESS_TRADES)} {brand}"
            has_email = rng.random() < (0.85 if channel == "online" else 0.6)
            if has_email:
                if rng.random() < 0.5:
                    applicant["email"] = f"{rng.choice(('info', 'ketoan', 'lienhe', 'admin'))}@{slug}.com.vn"
                else:
                    applicant["email"] = f"{slug}{rng.randrange(10, 9999)}@gmail.com"
            if not has_email or rng.random() < 0.8:
                # Businesses often give the office landline (Phú Thọ area code 0210).
                landline = f"0210 3{rng.randrange(100, 1000)} {rng.randrange(100, 1000)}"
                applicant["phone"] = landline if rng.random() < 0.4 else self._mobile()
        else:
            male = rng.random() < 0.5
            surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
            middle = rng.choice(_MIDDLE_MALE if male else _MIDDLE_FEMALE)
            given = rng.choice(_GIVEN_MALE if male else _GIVEN_FEMALE)
            applicant["name"] = f"{surname} {middle} {given}"
            if rng.random() < (0.75 if channel == "online" else 0.15):
                if rng.random() < 0.5:
                    local = _ascii(f"{given}{surname}").lower()
                else:
                    local = _ascii(f"{given}{surname[0]}{middle[0]}").lower()
                if rng.random() < 0.6:
                    local += str(rng.randrange(1960, 2008))
                domain = rng.choices(_MAIL_DOMAINS, cum_weights=_MAIL_DOMAIN_CUM)[0]
                applicant["email"] = f"{local}@{domain}"
            # Most citizens leave a mobile number; a few applicants at the counter leave no contact at all.
            if rng.random() < (0.92 if "email" in applicant else 0.97):
                applicant["phone"] = self._mobile()
        if communes and rng.random() < 0.7:
            home = unit if unit.kind == UnitKind.COMMUNE else rng.choice(communes)
            ward = self.is_ward.get(home.code)
            if ward is None:
                ward = self.is_ward[home.code] = _fold(home.name).startswith("phường")
            if ward:
                hamlet = f"Tổ {rng.randrange(1, 30)}" if rng.random() < 0.5 else f"Khu {rng.randrange(1, 16)}"
            else:
                hamlet = f"Thôn {rng.choice(_BRANDS)}" if rng.random() < 0.5 else f"Khu {rng.randrange(1, 16)}"
            applicant["address"] = ", ".join(part for part in (hamlet, home.name, self.province_name) if part)
        return applicant

    def _mobile(self) -> str:
        rng = self.rng
        prefix = rng.choice(_MOBILE_PREFIXES)
        rest = f"{rng.randrange(10**7):07d}"
        style = rng.random()
        if style < 0.6:
            return prefix + rest
        if style < 0.9:
            return f"{prefix}{rest[0]} {rest[1:4]} {rest[4:]}"
        return f"+84 {prefix[1:]} {rest[:3]} {rest[3:]}"

    # ---- fates ----------------------------------------------------------------------------------------

    def _deadline(self, dossier: _Dossier, rounds: Sequence[tuple[datetime, datetime | None]]) -> datetime | None:
        procedure = dossier.procedure
        processing = self.processing.get(procedure.code)
        if processing is None:  # no deadline
            return None
        deadline = compute_deadline(
            dossier.received_at,
            processing,
            self.calendar,
            cutoff=procedure.cutoff,
            rounds=[SupplementRound(requested, supplied) for requested, supplied in rounds],
            policy=SupplementPolicy.RESTART,
        )
        assert deadline.due_at is not None
        return deadline.due_at.astimezone(LOCAL_TZ)

    def _supplement_rounds(self, dossier: _Dossier, count: int, pending_last: bool) -> datetime | None:
        """Add ``count`` rounds (the last one unanswered if ``pending_last``); return the due date after them.

        Requests come while the processing time still runs (early in it, usually); supplements come back a
        few working days later.
        """
        rng = self.rng
        rounds: list[tuple[datetime, datetime | None]] = []
        last, due = dossier.received_at, dossier.initial_due
        for n in range(count):
            horizon = due.date() if due is not None else last.date() + timedelta(days=10)
            requested = self._working_instant_from(self._day_between(last, horizon, skew=2.0), last)
            if pending_last and n == count - 1:
                rounds.append((requested, None))
                break
            wait = rng.choices(*_SUPPLEMENT_WAIT_DAYS)[0]
            start = self.workdays.index_at_or_after(requested.date())
            supplied = self._working_instant_from(start + wait, requested)
            rounds.append((requested, supplied))
            last = supplied
            due = self._deadline(dossier, rounds)
        dossier.rounds = rounds
        return due

    def _plan(self, dossier: _Dossier) -> None:
        """Decide the dossier's fate and the instants that make it true."""
        spec, rng = self.spec, self.rng
        dossier.initial_due = due = self._deadline(dossier, ())
        roll = rng.random()
        if roll < spec.rejected_share:
            # Refused at the counter or at the first check: within two working days of receipt.
            dossier.fate = "reject"
            start = self.workdays.index_at_or_after(dossier.received_at.date())
            dossier.end_at = self._working_instant_from(start + rng.choice((0, 0, 1, 2)), dossier.received_at)
            dossier.due = due
            return
        withdrawn = roll < spec.rejected_share + spec.withdrawn_share
        # Rejected dossiers never get that far, so the others carry the whole supplement share.
        if rng.random() < min(1.0, spec.supplement_share / (1.0 - spec.rejected_share)):
            count = 2 if rng.random() < _TWO_ROUNDS_SHARE else 1
            pending = withdrawn and rng.random() < _WITHDRAWN_PENDING_SHARE
            due = self._supplement_rounds(dossier, count, pending)
        dossier.due = due
        rounds = dossier.rounds or []
        last = dossier.received_at
        for requested, supplied in rounds:
            last = supplied or requested
        if withdrawn:
            dossier.fate = "withdraw"
            if rounds and rounds[-1][1] is None:
                # The applicant never answered the supplement request and gave up.
                index = self.workdays.index_at_or_after(last.date()) + rng.randrange(3, 16)
            else:
                horizon = due.date() if due is not None else last.date() + timedelta(days=10)
                index = self._day_between(last, horizon, skew=1.0)
            dossier.end_at = self._working_instant_from(index, last)
            return
        if due is None:
            self._plan_without_deadline(dossier, last)
        else:
            self._plan_resolution(dossier, last, due)

    def _plan_without_deadline(self, dossier: _Dossier, last: datetime) -> None:
        """No due date: finished whenever it is finished, and counted on time (as classify_finished does)."""
        after = self.rng.choices(*_NO_DEADLINE_DAYS)[0]
        index = self.workdays.index_at_or_after(last.date()) + after
        dossier.ok_at = self._working_instant_from(index, last)
        dossier.ok_state = "finished_on_time"

    def _plan_resolution(self, dossier: _Dossier, last: datetime, due: datetime) -> None:
        """Both candidate finish instants; whether the dossier is late is decided once all are known.

        In time: early on a working day strictly before the due date (most dossiers), or on the due date
        itself, possibly after the due instant (still on time when dates are compared). Late: on a working
        day strictly after the due date.
        """
        rng = self.rng
        due_day = due.date()
        ok_at: datetime | None = None
        lo = self.workdays.index_at_or_after(last.date())
        hi = self.workdays.index_at_or_after(due_day)  # working days in [lo, hi) fall before the due date
        if hi > lo and rng.random() >= _ON_TIME_SHARE:
            for index in (lo + int((hi - lo) * rng.random() ** 1.6), lo):
                ok_at = self._office_instant(self.workdays.at(index), last)
                if ok_at is not None:
                    break
        if ok_at is None and due_day >= last.date():
            if self.workdays.is_working(due_day) or due_day == last.date():
                ok_at = self._office_instant(due_day, last)
                if ok_at is None:
                    # The last step came after hours on the due date: finish later that evening.
                    floor = _second_of_day(last) if due_day == last.date() else self.closes
                    if floor < 86_399:
                        ok_at = self._at(due_day, rng.randrange(floor + 1, min(86_400, floor + 3 * 3600)))
            elif hi > lo:
                # A calendar-day deadline on a day off is moved to a working day by the calendar, so this
                # is only a safety net: in time means the last working day before it.
                ok_at = self._office_instant(self.workdays.at(hi - 1), last)
        if ok_at is None:
            # Nothing fits in time (the due date leaves no office time after the last step): let it be late.
            dossier.ok_at = None
        else:
            dossier.ok_at = ok_at
            dossier.ok_state = "finished_early" if ok_at.date() < due_day else "finished_on_time"
        first_after = self.workdays.index_at_or_after(due_day + timedelta(days=1))
        late_by = rng.choices(*_LATE_BY_DAYS)[0]
        day = self.workdays.at(first_after + late_by - 1)
        dossier.late_at = self._office_instant(day, last)  # day > due_day >= last.date(): never None

    # ---- the run --------------------------------------------------------------------------------------

    def run(self) -> GeneratedTraffic:
        spec, rng = self.spec, self.rng
        units = self._eligible_units()
        if not units:
            raise ValueError("the unit tree has no department, commune or district active in the period")
        procedures = {
            level: [p for p in self.catalogue.for_level(level) if self._usable(p)] for level in ("commune", "province")
        }
        departments = [u for u in units if u.kind == UnitKind.DEPARTMENT]
        by_department = self._department_procedures(departments, procedures["province"])
        if self.facts766 is not None:
            self.facts766.procedures(self.catalogue, by_department)
        communes = [u for u in units if u.kind == UnitKind.COMMUNE]
        commune_cum = list(accumulate(self._procedure_weights(procedures["commune"], _BUSY_FIELDS)))

        # Districts (before July 2025) handled what communes handle now.
        unit_procedures: list[tuple[list[Procedure], list[float]]] = []
        receipt_days = []
        volumes: list[float] = []
        for unit in units:
            if unit.kind == UnitKind.DEPARTMENT:
                own = by_department[unit.code]
                unit_procedures.append((own, list(accumulate(self._procedure_weights(own, _BUSY_FIELDS)))))
            else:
                own = procedures["commune"]
                unit_procedures.append((own, commune_cum))
            receipt_days.append(self._receipt_days(unit))
            volumes.append(self._volume(unit) if own and receipt_days[-1][0] else 0.0)
        if spec.dossiers and not any(volumes):
            raise ValueError("no unit can receive: no usable procedure for its level, or no working day")

        # 1. Who receives what, and when; codes numbered in receipt order per unit and day.
        counts = (
            Counter(rng.choices(range(len(units)), cum_weights=list(accumulate(volumes)), k=spec.dossiers))
            if spec.dossiers
            else Counter()
        )
        dossiers: list[_Dossier] = []
        ordinals = Counter[UnitKind]()
        for i, unit in enumerate(units):
            ordinals[unit.kind] += 1
            count = counts.get(i, 0)
            if not count:
                continue
            days, day_cum, saturdays = receipt_days[i]
            own, own_cum = unit_procedures[i]
            batch = [
                _Dossier(unit, procedure, *self._receipt(day, saturdays), applicant={})
                for day, procedure in zip(
                    rng.choices(days, cum_weights=day_cum, k=count),
                    rng.choices(own, cum_weights=own_cum, k=count),
                    strict=True,
                )
            ]
            for dossier in batch:
                dossier.applicant = self._applicant(unit, dossier.channel, communes)
            self._assign_codes(unit, batch, ordinals[unit.kind])
            dossiers.extend(batch)

        # 2. Fates.
        for dossier in dossiers:
            self._plan(dossier)

        # 3. Lateness, chosen so that late / finished ≈ late_share as of `now`. A late dossier finishes later
        # than it would have in time, so more late ones are still open at `now`; the probability q makes
        # up for exactly that. With A = in-time finishes by now among those that can be late, B = late
        # finishes by now, N = finishes by now that can never be late:  q·B / ((1 − q)·A + q·B + N) = s.
        now = self.now
        resolving = [d for d in dossiers if d.fate == "resolve"]
        can_be_late = [d for d in resolving if d.late_at is not None]
        a = sum(1 for d in can_be_late if d.ok_at is not None and d.ok_at <= now)
        b = sum(1 for d in can_be_late if d.late_at <= now)
        n = sum(1 for d in resolving if d.late_at is None and d.ok_at <= now)
        s = spec.late_share
        denominator = b * (1.0 - s) + s * a
        q = min(1.0, s * (a + n) / denominator) if denominator > 0 else s
        for dossier in can_be_late:
            # A dossier with no in-time slot at all is late whatever q says.
            dossier.late = dossier.ok_at is None or rng.random() < q

        # 4. Events, as of `now`.
        messages: list[dict[str, Any]] = []
        expected: dict[str, Counter[str]] = {unit.code: Counter() for unit in units}
        truth: dict[str, DossierTruth] = {}
        for dossier in dossiers:
            state = self._emit(dossier, messages)
            expected[dossier.unit.code][state] += 1
            truth[dossier.code] = self._truth(dossier, state)
            if self.facts766 is not None:
                self.facts766.after(dossier.code, *self._as_written(dossier), messages)
        if self.facts766 is not None:
            self.facts766.petitions(units, len(dossiers), messages, spec.start)

        # 5. The bus: everything out of order, some messages delivered twice or more. Shuffling originals
        # and copies together is the same as re-inserting each copy at a random position, without the
        # quadratic cost of list.insert.
        distinct = len(messages)
        if distinct:
            messages.extend(_copy_message(m) for m in rng.choices(messages, k=round(spec.duplicate_share * distinct)))
        rng.shuffle(messages)
        return GeneratedTraffic(messages=messages, distinct_events=distinct, dossiers=len(dossiers), expected=expected,
                                truth=truth, truth766=self.facts766.truth if self.facts766 is not None else None)

    def _as_written(self, dossier: _Dossier) -> tuple[list[_Round], tuple[str, datetime] | None]:
        """The supplement rounds and the closing that ``_emit`` wrote for the dossier (those that happened by now)."""
        now = self.now
        rounds: list[_Round] = []
        for requested, supplied in dossier.rounds or ():
            if requested > now:
                break
            rounds.append((requested, supplied if supplied is not None and supplied <= now else None))
            if supplied is None or supplied > now:
                break
        if dossier.fate != "resolve":
            assert dossier.end_at is not None
            kind = "rejected" if dossier.fate == "reject" else "withdrawn"
            return rounds, ((kind, dossier.end_at) if dossier.end_at <= now else None)
        finished_at = dossier.late_at if dossier.late else dossier.ok_at
        assert finished_at is not None
        return rounds, (("finished", finished_at) if finished_at <= now else None)

    def _truth(self, dossier: _Dossier, state: str) -> DossierTruth:
        """The dossier as of `now`: only an open one needs its due date and pause recomputed, since a
        supplement round still running at `now` leaves it paused and later rounds have not happened yet."""
        now, due, paused = self.now, None, False
        if state == "unfinished":
            done: list[tuple[datetime, datetime | None]] = []
            for requested, supplied in dossier.rounds or ():
                if requested > now:
                    break
                if supplied is None or supplied > now:
                    paused = True
                    break
                done.append((requested, supplied))
            due = self._deadline(dossier, done)
        return DossierTruth(dossier.unit.code, state, due, paused, now)

    def _assign_codes(self, unit: Unit, batch: list[_Dossier], ordinal: int) -> None:
        """MaHoSo as one-door systems number it: <agency portal code>-<yymmdd>-<sequence of the day>."""
        if _PORTAL_CODE.match(unit.code):
            agency = unit.code  # departments are keyed by their portal code already
        elif unit.code in self.ward_portal_codes:
            agency = self.ward_portal_codes[unit.code]
        elif unit.kind == UnitKind.COMMUNE:
            agency = f"{self.portal_prefix}.{99 + ordinal}"
        elif unit.kind == UnitKind.DISTRICT:
            agency = f"{self.portal_prefix}.{49 + ordinal}"
        else:
            agency = f"{self.portal_prefix}.{ordinal:02d}"
        batch.sort(key=lambda d: d.received_at)
        sequence: Counter[date] = Counter()
        for dossier in batch:
            day = dossier.received_at.date()
            sequence[day] += 1
            dossier.code = f"{agency}-{day:%y%m%d}-{sequence[day]:04d}"

    def _emit(self, dossier: _Dossier, out: list[dict[str, Any]]) -> str:
        """Append the dossier's events that happened by ``now``; return its state as of ``now``."""
        rng, now, spec = self.rng, self.now, self.spec
        code, procedure = dossier.code, dossier.procedure
        received: dict[str, Any] = {
            "dossier_code": code,
            "procedure_code": procedure.code,
            "unit_code": dossier.unit.code,
            "received_at": dossier.received_at,
            "processing_time_unit": procedure.time_unit,
            "channel": dossier.channel,
            "field_code": procedure.field[:64],
            "applicant": dossier.applicant,
        }
        if procedure.processing_amount:  # the contract wants a positive amount, or none at all
            received["processing_time"] = procedure.processing_amount
        if dossier.initial_due is not None:
            mismatch = rng.random() < spec.onedoor_due_mismatch_share
            received["due_at"] = self._onedoor_due(dossier) if mismatch else dossier.initial_due
        if self.facts766 is not None:  # its own random numbers: the rest of the stream stays as it was
            self.facts766.receipt(code, dossier.unit, procedure, dossier.channel, dossier.received_at, received)
        self._event(out, "dossier.received", received, dossier.received_at)

        for requested, supplied in dossier.rounds or ():
            if requested > now:
                break
            payload = {"dossier_code": code, "requested_at": requested, "reason": rng.choice(_SUPPLEMENT_REASONS)}
            self._event(out, "dossier.supplement_requested", payload, requested)
            if supplied is None or supplied > now:
                break
            self._event(out, "dossier.supplement_received", {"dossier_code": code, "supplied_at": supplied}, supplied)

        if dossier.fate != "resolve":
            assert dossier.end_at is not None
            if dossier.end_at > now:
                return "unfinished"
            if dossier.fate == "reject":
                payload = {"dossier_code": code, "rejected_at": dossier.end_at, "reason": rng.choice(_REJECT_REASONS)}
                self._event(out, "dossier.rejected", payload, dossier.end_at)
                return "rejected"
            payload = {"dossier_code": code, "withdrawn_at": dossier.end_at}
            reason = rng.choice(_WITHDRAW_REASONS)
            if reason:
                payload["reason"] = reason
            self._event(out, "dossier.withdrawn", payload, dossier.end_at)
            return "withdrawn"

        finished_at = dossier.late_at if dossier.late else dossier.ok_at
        assert finished_at is not None
        if dossier.late and rng.random() < spec.late_event_share:
            self._late_event(dossier, finished_at, out)
        if finished_at > now:
            return "unfinished"
        self._event(out, "dossier.resolved", {"dossier_code": code, "resolved_at": finished_at}, finished_at)
        if rng.random() < _RETURNED_SHARE:
            returned_at = self._returned_at(finished_at)
            if returned_at <= now:
                self._event(out, "dossier.returned", {"dossier_code": code, "returned_at": returned_at}, returned_at)
        return "finished_late" if dossier.late else dossier.ok_state

    def _late_event(self, dossier: _Dossier, finished_at: datetime, out: list[dict[str, Any]]) -> None:
        """dossier.late from the one-door's night scan after the due date, with the apology's new date."""
        rng = self.rng
        assert dossier.due is not None
        detected = self._at(dossier.due.date() + timedelta(days=1), rng.randrange(300, 7 * 3600))
        if detected > self.now or detected >= finished_at:
            return
        promise = self.workdays.at(self.workdays.index_at_or_after(finished_at.date()) + rng.choice((0, 0, 1, 2)))
        payload: dict[str, Any] = {
            "dossier_code": dossier.code,
            "detected_at": detected,
            "new_due_at": self._at(promise, self.closes - 1800),
        }
        reason = rng.choice(_LATE_REASONS)
        if reason:
            payload["reason"] = reason
        self._event(out, "dossier.late", payload, detected)

    def _returned_at(self, resolved_at: datetime) -> datetime:
        """The result is usually handed back the same day or within a couple of working days."""
        rng = self.rng
        if rng.random() < 0.6:
            moment = self._office_instant(resolved_at.date(), resolved_at)
            if moment is not None:
                return moment
        index = self.workdays.index_at_or_after(resolved_at.date() + timedelta(days=1))
        return self._working_instant_from(index + rng.choice((0, 0, 1, 2, 4)), resolved_at)

    def _onedoor_due(self, dossier: _Dossier) -> datetime:
        """A due date the one-door got wrong by whole days (a missed holiday or make-up Saturday, the
        receipt day counted, the cut-off ignored), so that it differs from ours at either granularity."""
        due = dossier.initial_due
        assert due is not None
        shifts = [1, 2] + ([-1] if (due - timedelta(days=1)).date() > dossier.received_at.date() else [])
        return due + timedelta(days=self.rng.choice(shifts))

    def _event(self, out: list[dict[str, Any]], event_type: str, payload: dict[str, Any], at: datetime) -> None:
        event_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        out.append(make_envelope(event_type, payload, occurred_at=at, source=self.source, event_id=event_id))
