"""Synthetic one-door traffic: a seeded, realistic stream of dossier events for one province.

Why it exists: the dossiers service, the benchmarks and the end-to-end tests all need a month of traffic
that looks like what a real province's one-door software (phần mềm một cửa) publishes — volume spread
over departments and communes the way a published month spreads it, receipts in office hours, supplement
rounds, a few percent late, redelivered duplicates, everything out of order — *and* they need to know the
right answer. So the generator decides every dossier's fate first and builds its events to make that fate
true by construction; :attr:`GeneratedTraffic.expected` is the ground truth the statistics must reproduce.

Ground truth is stated the way Decision 766 reports compare: at DATE granularity (finished local date
before / on / after the due local date), with the due date from
:func:`services.dossiers.deadlines.compute_deadline` and supplement rounds applied under the RESTART
policy (the decree's practice: the full processing time restarts when the supplement arrives).

Nothing here reads ``../shared`` at run time: the volume shape of Phú Thọ's published month 8/2026
(``766_phutho_tien_do_giai_quyet_2026-08.csv``) is hard-coded below as weights.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
import uuid
import zlib
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from math import exp
from pathlib import Path
from statistics import NormalDist
from typing import Any

from services.dossiers.catalogue import Catalogue, Procedure
from services.dossiers.deadlines import (
    ProcessingTime,
    SupplementPolicy,
    SupplementRound,
    TimeUnit,
    compute_deadline,
)
from services.dossiers.units import Unit, UnitKind, UnitTree
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.events import make_envelope

__all__ = [
    "FINAL_STATES",
    "GeneratedTraffic",
    "TrafficSpec",
    "generate",
    "read_jsonl",
    "write_jsonl",
]

#: The final states ``expected`` counts, as of ``TrafficSpec.now``.
FINAL_STATES = (
    "finished_early",
    "finished_on_time",
    "finished_late",
    "unfinished",
    "withdrawn",
    "rejected",
)


@dataclass(frozen=True)
class TrafficSpec:
    """What to generate. Shares are probabilities per dossier unless the comment says otherwise."""

    start: date  # receipts fall in [start, end] (local dates)
    end: date
    now: datetime  # aware; no event happens after it, dossiers still open at `now` stay unfinished
    dossiers: int = 5000  # distinct dossiers
    late_share: float = 0.04  # of FINISHED dossiers, share resolved after their due date
    supplement_share: float = 0.08  # share with a supplement round (a few with two rounds)
    withdrawn_share: float = 0.015
    rejected_share: float = 0.01
    duplicate_share: float = 0.20  # extra copies (same event_id) per distinct event, as the bus redelivers
    late_event_share: float = 0.5  # of late dossiers, share for which the one-door also sends dossier.late
    onedoor_due_mismatch_share: float = 0.01  # dossier.received whose due_at differs from ours
    seed: int = 766

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
        if self.duplicate_share < 0:
            raise ValueError("TrafficSpec.duplicate_share must not be negative")
        if self.withdrawn_share + self.rejected_share > 1.0:
            raise ValueError("withdrawn_share + rejected_share exceeds 1")


@dataclass
class GeneratedTraffic:
    messages: list[dict[str, Any]]  # envelopes (JSON-ready), shuffled, duplicates included
    distinct_events: int  # without duplicates
    dossiers: int
    # Ground truth per unit code (every unit that could receive, zero or not): Counter of FINAL_STATES.
    expected: dict[str, Counter[str]]


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
_DEPARTMENT_DEFAULT_VOLUME = 150.0  # a department the published month does not name (culture, police, …)
# Communes: log-normal fitted to the 148 published communes (median 852 a month, quartiles 520 / 1,277,
# range 181–2,971); wards (phường) are the towns and take more than rural communes (xã).
_COMMUNE_MEDIAN = 852.0
_COMMUNE_SIGMA = 0.67
_COMMUNE_RANGE = (181.0, 2971.0)
_WARD_FACTOR = 1.6
_DISTRICT_VOLUME = 3000.0  # a pre-2025 district, if the period reaches back before the 2025 merger

# Which department handles a field of province-level procedures (fragments of field name → of unit name).
_FIELD_TO_DEPARTMENT: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("khu công nghiệp", "khu kinh tế"), ("khu công nghiệp",)),
    (
        ("đất đai", "môi trường", "nông nghiệp", "thủy lợi", "lâm nghiệp", "thú y", "trồng trọt", "tài nguyên",
         "khoáng sản", "thủy sản", "chăn nuôi", "đo đạc", "biển", "khí tượng", "phát triển nông thôn"),
        ("nông nghiệp", "tài nguyên"),
    ),
    (("y tế", "dược", "khám bệnh", "chữa bệnh", "mỹ phẩm", "trang thiết bị y tế", "dân số"), ("y tế",)),
    (
        ("xây dựng", "quy hoạch", "nhà ở", "bất động sản", "giao thông", "đường bộ", "đường thủy", "vật liệu",
         "hạ tầng", "kiến trúc"),
        ("xây dựng", "giao thông"),
    ),
    (("giáo dục", "đào tạo", "văn bằng", "chứng chỉ", "thi"), ("giáo dục",)),
    (
        ("khoa học", "công nghệ", "sở hữu trí tuệ", "tiêu chuẩn", "đo lường", "viễn thông", "bưu chính",
         "báo chí", "xuất bản", "phát thanh", "thông tin"),
        ("khoa học", "thông tin"),
    ),
    (("công thương", "điện", "thương mại", "hóa chất", "công nghiệp", "xăng dầu", "rượu"), ("công thương",)),
    (
        ("tài chính", "đầu tư", "doanh nghiệp", "kinh doanh", "hợp tác xã", "ngân sách", "giá", "thuế",
         "tài sản"),
        ("tài chính", "kế hoạch"),
    ),
    (
        ("tư pháp", "hộ tịch", "công chứng", "luật sư", "lý lịch", "giám định", "đấu giá", "con nuôi",
         "quốc tịch", "trọng tài", "hòa giải", "trợ giúp pháp lý"),
        ("tư pháp",),
    ),
    (("dân tộc", "tôn giáo", "tín ngưỡng"), ("dân tộc",)),
    (
        ("nội vụ", "lao động", "việc làm", "bảo hiểm", "người có công", "thi đua", "khen thưởng", "công chức",
         "viên chức", "tiền lương", "nghề nghiệp", "bảo trợ", "trẻ em", "văn thư", "lưu trữ", "hội"),
        ("nội vụ", "lao động"),
    ),
    (("văn hóa", "thể thao", "du lịch", "gia đình", "di sản", "quảng cáo", "điện ảnh"), ("văn hóa",)),
    (("ngoại vụ", "lãnh sự", "hội nghị quốc tế", "đối ngoại"), ("ngoại vụ",)),
    (("thanh tra", "khiếu nại", "tố cáo", "tiếp công dân"), ("thanh tra",)),
)
# Commune-level fields that dominate a commune's counter (civil status, certification, land).
_BUSY_COMMUNE_FIELDS = ("hộ tịch", "chứng thực", "đất đai", "bảo trợ", "người có công")

# National-portal agency code prefix per province (MaHoSo starts with the handling agency's portal code).
_PORTAL_PREFIX = {25: "H44"}

# Office hours for receipts and actions, in seconds after midnight (the default one-door sessions).
_MORNING = (7 * 3600 + 1800, 11 * 3600 + 1800)
_AFTERNOON = (13 * 3600, 17 * 3600)
_DAY_END = 24 * 3600

# Receipt timing: the rest of the office-hours share goes to lunch, evenings and non-working Saturdays,
# all of which can only be online submissions.
_LUNCH_SHARE = 0.05
_AFTER_HOURS_SHARE = 0.07
_SATURDAY_SHARE = 0.02
# Channel mix overall (in person / online / post ≈ 55 / 43 / 2); off-hours receipts are all online, so
# office-hours receipts carry the in-person and post share on their own.
_IN_PERSON_SHARE = 0.55
_POST_SHARE = 0.02
_WEEKDAY_WEIGHT = {0: 1.25, 1: 1.1, 2: 1.0, 3: 1.0, 4: 0.9, 5: 0.6, 6: 0.3}

_TWO_ROUNDS_SHARE = 0.15  # of dossiers with a supplement round
_ON_TIME_SHARE = 0.2  # of dossiers finished in time, share finished on the due date itself (rest: early)
_RETURNED_SHARE = 0.9  # of resolved dossiers, share whose result is handed back (dossier.returned)
_WITHDRAWN_PENDING_SHARE = 0.35  # of withdrawn dossiers with a supplement round: left unanswered
_SUPPLEMENT_WAIT_DAYS = ((1, 2, 3, 4, 5, 7, 10, 15), (14, 24, 20, 14, 10, 10, 6, 2))
_LATE_BY_DAYS = ((1, 2, 3, 4, 5, 7, 10, 15, 25), (30, 20, 14, 9, 8, 8, 6, 3, 2))

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
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 5), ("Phan", 4.5), ("Vũ", 4),
    ("Đặng", 2.1), ("Bùi", 2), ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1), ("Lý", 0.5),
    ("Đinh", 0.8), ("Trịnh", 0.6), ("Đào", 0.6), ("Cao", 0.5), ("Hà", 0.6), ("Lương", 0.3), ("Tạ", 0.3),
)
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
_BUSINESS_BRANDS = (
    "Hùng Vương", "Phong Châu", "Sông Lô", "Đất Tổ", "Việt Trì", "An Phát", "Minh Long", "Thành Đạt",
    "Phú Thịnh", "Hưng Thịnh", "Tân Việt", "Hoàng Gia", "Bảo Ngọc", "Đại Dương", "Trường Sơn", "Sao Mai",
)
_MAIL_DOMAINS = (("gmail.com", 80), ("yahoo.com", 6), ("outlook.com", 5), ("icloud.com", 3), ("hotmail.com", 2))
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
    """Generate the stream described by ``spec`` for ``tree``'s province; same spec → same messages."""
    return _Generator(spec, tree, catalogue, calendar).run()


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
    """Working days as an indexable list, so "N working days after d" is a lookup, not a loop.

    The calendar is asked once per date; generating 50,000 dossiers asks the same few hundred dates
    hundreds of thousands of times otherwise.
    """

    def __init__(self, calendar: WorkingCalendar, first: date, last: date) -> None:
        self._calendar = calendar
        self._first = first
        self._last = first - timedelta(days=1)
        self.days: list[date] = []
        self._index: dict[date, int] = {}
        self._extend(last)

    def _extend(self, last: date) -> None:
        day = self._last + timedelta(days=1)
        while day <= last:
            if self._calendar.is_working_day(day):
                self._index[day] = len(self.days)
                self.days.append(day)
            day += timedelta(days=1)
        self._last = last

    def _cover(self, index: int) -> None:
        while index >= len(self.days):
            self._extend(self._last + timedelta(days=120))

    def is_working(self, day: date) -> bool:
        if day > self._last:
            self._extend(day + timedelta(days=120))
        return day in self._index

    def index_at_or_after(self, day: date) -> int:
        """Index of the first working day on or after ``day``."""
        if day < self._first:
            raise ValueError(f"{day} is before the generator's calendar window")
        while not self.days or day > self.days[-1]:
            self._extend(self._last + timedelta(days=120))
        return bisect_left(self.days, day)

    def at(self, index: int) -> date:
        self._cover(index)
        return self.days[index]


@dataclass(slots=True)
class _Dossier:
    """One dossier's fate, decided before any event is written."""

    unit: Unit
    procedure: Procedure
    received_at: datetime
    channel: str
    applicant: dict[str, str]
    code: str = ""
    fate: str = "resolve"  # resolve | withdraw | reject
    initial_due: datetime | None = None
    rounds: list[tuple[datetime, datetime | None]] | None = None
    due: datetime | None = None
    ok_at: datetime | None = None  # finish time if not late
    ok_state: str = "finished_early"
    late_at: datetime | None = None  # finish time if late
    end_at: datetime | None = None  # withdrawal / rejection time
    late: bool = False


def _fold(text: str) -> str:
    """Lower-case, NFC text for fragment matching (names arrive in either normal form)."""
    return unicodedata.normalize("NFC", text).casefold()


def _ascii(text: str) -> str:
    """Strip Vietnamese diacritics (đ → d): e-mail local parts and source slugs are ASCII."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _stable_uniform(key: str) -> float:
    """A uniform number in (0, 1) fixed by ``key``: a unit's size is a property of the province, not of
    the seed, so two seeds give two different months of the same province."""
    return (zlib.crc32(key.encode("utf-8")) + 0.5) / 2**32


def _office_second(rng: random.Random, after: int = 0, until: int = _AFTERNOON[1]) -> int | None:
    """A second of the day within office hours, ``after`` < s < ``until``; None if there is none left."""
    segments = []
    for lo, hi in (_MORNING, (_AFTERNOON[0], until)):
        lo = max(lo, after + 1)
        if hi > lo:
            segments.append((lo, hi))
    total = sum(hi - lo for lo, hi in segments)
    if total <= 0:
        return None
    pick = rng.randrange(total)
    for lo, hi in segments:
        if pick < hi - lo:
            return lo + pick
        pick -= hi - lo
    raise AssertionError("unreachable")


def _second_of_day(moment: datetime) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


class _Generator:
    def __init__(
        self, spec: TrafficSpec, tree: UnitTree, catalogue: Catalogue, calendar: WorkingCalendar
    ) -> None:
        self.spec = spec
        self.tree = tree
        self.catalogue = catalogue
        self.calendar = calendar
        self.rng = random.Random(spec.seed)
        self.now = spec.now.astimezone(LOCAL_TZ)
        self.midnight: dict[date, datetime] = {}
        root = self._root()
        self.source = self._source(root)
        self.portal_prefix = self._portal_prefix(root)
        last_receipt = min(spec.end, self.now.date())
        if last_receipt < spec.start:
            raise ValueError("no receipt possible: `now` is before the period starts")
        self.workdays = _WorkingDays(calendar, spec.start - timedelta(days=7), max(spec.end, self.now.date()))
        self.last_receipt = last_receipt

    # ---- province facts -------------------------------------------------------------------------------

    def _root(self) -> Unit | None:
        for unit in self.tree:
            if unit.kind == UnitKind.PROVINCE:
                return unit
        return None

    @staticmethod
    def _province_number(root: Unit | None) -> int | None:
        digits = re.sub(r"\D", "", root.code) if root is not None else ""
        return int(digits) if digits else None

    def _source(self, root: Unit | None) -> str:
        """``onedoor.<province>``, e.g. onedoor.phutho, from the root unit's name."""
        if root is None:
            return "onedoor"
        name = re.sub(r"(?i)^(ủy ban nhân dân|ubnd)\s+", "", unicodedata.normalize("NFC", root.name).strip())
        name = re.sub(r"(?i)^(tỉnh|thành phố)\s+", "", name)
        slug = re.sub(r"[^a-z0-9]", "", _ascii(name).lower())
        return f"onedoor.{slug}" if slug else "onedoor"

    def _portal_prefix(self, root: Unit | None) -> str:
        number = self._province_number(root)
        if number in _PORTAL_PREFIX:
            return _PORTAL_PREFIX[number]
        return root.code if root is not None else "H00"

    # ---- units and procedures -------------------------------------------------------------------------

    def _eligible_units(self) -> list[Unit]:
        """Units that handle dossiers and exist at some point of the period."""
        kinds = {UnitKind.DEPARTMENT, UnitKind.COMMUNE, UnitKind.DISTRICT}
        units = []
        for unit in self.tree:
            if unit.kind not in kinds:
                continue
            if unit.valid_from is not None and unit.valid_from > self.last_receipt:
                continue
            if unit.valid_to is not None and unit.valid_to < self.spec.start:
                continue
            units.append(unit)
        return units

    @staticmethod
    def _level(unit: Unit) -> str:
        # Districts were merged into the communes in 2025, which inherited their procedures.
        return "province" if unit.kind == UnitKind.DEPARTMENT else "commune"

    @staticmethod
    def _volume(unit: Unit) -> float:
        """The unit's monthly volume in Phú Thọ's published month, as a sampling weight."""
        if unit.kind == UnitKind.DEPARTMENT:
            name = _fold(unit.name)
            for fragment, volume in _DEPARTMENT_VOLUME:
                if fragment in name:
                    return volume
            return _DEPARTMENT_DEFAULT_VOLUME
        if unit.kind == UnitKind.DISTRICT:
            return _DISTRICT_VOLUME
        z = NormalDist().inv_cdf(_stable_uniform(unit.code))
        volume = _COMMUNE_MEDIAN * exp(_COMMUNE_SIGMA * z)
        volume = min(max(volume, _COMMUNE_RANGE[0]), _COMMUNE_RANGE[1])
        return volume * (_WARD_FACTOR if "phường" in _fold(unit.name) else 1.0)

    @staticmethod
    def _has_deadline(procedure: Procedure) -> bool:
        # Procedures without a legal processing time have no early / on time / late outcome to be the
        # ground truth of, so the generator leaves them out.
        return (
            procedure.time_unit != "none"
            and procedure.processing_amount is not None
            and procedure.processing_amount > 0
        )

    def _procedure_weights(self, procedures: Sequence[Procedure], busy: Sequence[str]) -> list[float]:
        """Zipf-like popularity in an order fixed by procedure code, busy fields boosted: a handful of
        procedures make most of a counter's dossiers."""
        order = sorted(range(len(procedures)), key=lambda i: _stable_uniform(str(procedures[i].code)))
        weights = [0.0] * len(procedures)
        for rank, i in enumerate(order, start=1):
            field = _fold(str(procedures[i].field or ""))
            boost = 8.0 if any(fragment in field for fragment in busy) else 1.0
            weights[i] = boost / rank**1.1
        return weights

    def _department_procedures(
        self, departments: Sequence[Unit], procedures: Sequence[Procedure]
    ) -> dict[str, list[Procedure]]:
        """Split province-level procedures among departments by field: a department only handles its
        own fields (health dossiers at the Department of Health). Fields no rule names go to a
        department chosen by a stable hash, so every procedure has a home."""
        folded = {unit.code: _fold(unit.name) for unit in departments}
        receiving = [u.code for u in departments if self._volume(u) > 0] or [u.code for u in departments]
        owner_of_field: dict[str, str] = {}
        result: dict[str, list[Procedure]] = {unit.code: [] for unit in departments}
        for procedure in procedures:
            field = str(procedure.field or "")
            if field not in owner_of_field:
                owner_of_field[field] = self._field_owner(field, folded, receiving)
            result[owner_of_field[field]].append(procedure)
        return result

    @staticmethod
    def _field_owner(field: str, folded_names: dict[str, str], receiving: Sequence[str]) -> str:
        folded_field = _fold(field)
        for field_fragments, unit_fragments in _FIELD_TO_DEPARTMENT:
            if any(fragment in folded_field for fragment in field_fragments):
                for code, name in folded_names.items():
                    if any(fragment in name for fragment in unit_fragments):
                        return code
        return receiving[zlib.crc32(field.encode("utf-8")) % len(receiving)]

    # ---- time helpers ---------------------------------------------------------------------------------

    def _at(self, day: date, second: int) -> datetime:
        base = self.midnight.get(day)
        if base is None:
            base = self.midnight[day] = datetime.combine(day, time(), LOCAL_TZ)
        return base + timedelta(seconds=second)

    def _office_instant(self, day: date, after: datetime | None) -> datetime | None:
        """An office-hours instant on ``day`` later than ``after`` (if ``after`` falls on that day)."""
        floor = _second_of_day(after) + 59 if after is not None and after.date() == day else 0
        second = _office_second(self.rng, floor)
        return None if second is None else self._at(day, second)

    def _working_instant_from(self, index: int, after: datetime) -> datetime:
        """The first office-hours instant on working day ``index`` or later that falls after ``after``."""
        while True:
            day = self.workdays.at(index)
            if day >= after.date():
                moment = self._office_instant(day, after)
                if moment is not None:
                    return moment
            index += 1

    # ---- receipts -------------------------------------------------------------------------------------

    def _receipt_days(self, unit: Unit) -> tuple[list[date], list[float], list[date]]:
        """(working days, cumulative weights, non-working Saturdays) on which ``unit`` can receive."""
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
        off_hours = _LUNCH_SHARE + _AFTER_HOURS_SHARE + _SATURDAY_SHARE
        if roll < _SATURDAY_SHARE and saturdays:
            day = rng.choice(saturdays)
            moment, channel = self._at(day, rng.randrange(7 * 3600, 22 * 3600)), "online"
        elif roll < _SATURDAY_SHARE + _LUNCH_SHARE:
            moment, channel = self._at(day, rng.randrange(_MORNING[1], _AFTERNOON[0])), "online"
        elif roll < off_hours:
            second = rng.randrange(_AFTERNOON[1], 23 * 3600) if rng.random() < 0.8 else rng.randrange(
                5 * 3600, _MORNING[0]
            )
            moment, channel = self._at(day, second), "online"
        else:
            # Morning counters are busier than afternoon ones.
            session = _MORNING if rng.random() < 0.6 else _AFTERNOON
            moment = self._at(day, rng.randrange(*session))
            channel_roll = rng.random() * (1.0 - off_hours)
            if channel_roll < _IN_PERSON_SHARE:
                channel = "in_person"
            elif channel_roll < _IN_PERSON_SHARE + _POST_SHARE:
                channel = "post"
            else:
                channel = "online"
        if moment > self.now:
            # Today's receipts can only have happened before now.
            midnight = self._at(moment.date(), 0)
            moment = midnight + (self.now - midnight) * rng.random()
        return moment, channel

    # ---- applicants -----------------------------------------------------------------------------------

    def _applicant(self, unit: Unit, channel: str, communes: Sequence[Unit], province: str) -> dict[str, str]:
        rng = self.rng
        business = rng.random() < (0.35 if unit.kind == UnitKind.DEPARTMENT else 0.06)
        applicant: dict[str, str] = {"kind": "business" if business else "citizen"}
        if business:
            brand = rng.choice(_BUSINESS_BRANDS)
            applicant["name"] = f"{rng.choice(_BUSINESS_FORMS)} {rng.choice(_BUSINESS_TRADES)} {brand}"
            slug = re.sub(r"[^a-z]", "", _ascii(brand).lower())
            has_email = rng.random() < (0.85 if channel == "online" else 0.6)
            if has_email:
                domain = f"{slug}.com.vn" if rng.random() < 0.5 else "gmail.com"
                local = rng.choice(("info", "ketoan", "lienhe", "admin")) if domain != "gmail.com" else (
                    f"{slug}{rng.randrange(10, 9999)}"
                )
                applicant["email"] = f"{local}@{domain}"
            if not has_email or rng.random() < 0.8:
                applicant["phone"] = (
                    f"0210 3{rng.randrange(100, 999)} {rng.randrange(100, 999)}"
                    if rng.random() < 0.4
                    else self._mobile()
                )
        else:
            male = rng.random() < 0.5
            surname = rng.choices([s for s, _ in _SURNAMES], [w for _, w in _SURNAMES])[0]
            middle = rng.choice(_MIDDLE_MALE if male else _MIDDLE_FEMALE)
            given = rng.choice(_GIVEN_MALE if male else _GIVEN_FEMALE)
            applicant["name"] = f"{surname} {middle} {given}"
            email_share = 0.75 if channel == "online" else 0.15
            if rng.random() < email_share:
                local = _ascii(f"{given}{surname}").lower() if rng.random() < 0.5 else _ascii(
                    f"{given}{surname[0]}{middle[0]}"
                ).lower()
                local += str(rng.randrange(1960, 2008)) if rng.random() < 0.6 else ""
                domain = rng.choices([d for d, _ in _MAIL_DOMAINS], [w for _, w in _MAIL_DOMAINS])[0]
                applicant["email"] = f"{local}@{domain}"
            # Most citizens leave a mobile number; a few in-person applicants leave no contact at all.
            if rng.random() < (0.92 if "email" in applicant else 0.97):
                applicant["phone"] = self._mobile()
        if communes and rng.random() < 0.7:
            home = unit if unit.kind == UnitKind.COMMUNE else rng.choice(communes)
            hamlet = (
                f"Khu {rng.randrange(1, 16)}"
                if rng.random() < 0.5
                else f"Tổ {rng.randrange(1, 30)}"
                if "phường" in _fold(home.name)
                else f"Thôn {rng.choice(_BUSINESS_BRANDS)}"
            )
            applicant["address"] = f"{hamlet}, {home.name}, {province}"
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

    def _deadline(self, dossier: _Dossier, rounds: list[tuple[datetime, datetime | None]]) -> datetime:
        procedure = dossier.procedure
        deadline = compute_deadline(
            dossier.received_at,
            ProcessingTime(procedure.processing_amount, TimeUnit(procedure.time_unit)),
            self.calendar,
            cutoff=procedure.cutoff,
            rounds=[SupplementRound(requested, supplied) for requested, supplied in rounds],
            policy=SupplementPolicy.RESTART,
        )
        if deadline.due_at is None:
            raise ValueError(f"procedure {procedure.code} has a processing time but no due date came out")
        return deadline.due_at.astimezone(LOCAL_TZ)

    def _day_between(self, after: datetime, before: date, skew: float) -> int:
        """Index of a working day d with after.date() <= d < before (or the first working day on or after
        ``after`` when there is none), drawn with a bias towards the start for ``skew`` > 1."""
        lo = self.workdays.index_at_or_after(after.date())
        hi = self.workdays.index_at_or_after(before)  # first working day >= before
        if hi <= lo:
            return lo
        return lo + int((hi - lo) * self.rng.random() ** skew)

    def _supplement_rounds(self, dossier: _Dossier, count: int, pending_last: bool) -> datetime:
        """Add ``count`` rounds (the last one unanswered if ``pending_last``); return the new due date."""
        rng = self.rng
        rounds: list[tuple[datetime, datetime | None]] = []
        last, due = dossier.received_at, dossier.initial_due
        assert due is not None
        for n in range(count):
            index = self._day_between(last, due.date(), skew=2.0)
            requested = self._working_instant_from(index, last)
            if pending_last and n == count - 1:
                rounds.append((requested, None))
                break
            wait = rng.choices(*_SUPPLEMENT_WAIT_DAYS)[0]
            supplied = self._working_instant_from(self.workdays.index_at_or_after(requested.date()) + wait, requested)
            rounds.append((requested, supplied))
            last = supplied
            due = self._deadline(dossier, rounds)
        dossier.rounds = rounds
        return due

    def _plan(self, dossier: _Dossier) -> None:
        """Decide the dossier's fate and the instants that make it true."""
        spec, rng = self.spec, self.rng
        dossier.initial_due = due = self._deadline(dossier, [])
        roll = rng.random()
        if roll < spec.rejected_share:
            # Rejected at the counter or after the first check: within two working days of receipt.
            dossier.fate = "reject"
            start = self.workdays.index_at_or_after(dossier.received_at.date())
            dossier.end_at = self._working_instant_from(start + rng.choice((0, 0, 1, 2)), dossier.received_at)
            return
        withdrawn = roll < spec.rejected_share + spec.withdrawn_share
        supplement_p = spec.supplement_share / (1.0 - spec.rejected_share) if spec.rejected_share < 1 else 0.0
        if rng.random() < supplement_p:
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
                start = self.workdays.index_at_or_after(last.date())
                index = start + rng.randrange(3, 16)
            else:
                index = self._day_between(last, due.date(), skew=1.0)
            dossier.end_at = self._working_instant_from(index, last)
            return
        self._plan_resolution(dossier, last, due)

    def _plan_resolution(self, dossier: _Dossier, last: datetime, due: datetime) -> None:
        """Both candidate finish instants; whether the dossier is late is decided once all are known."""
        rng = self.rng
        due_day = due.date()
        ok_at: datetime | None = None
        if rng.random() >= _ON_TIME_SHARE:
            # Early: a working day strictly before the due date, not before the last step.
            lo = self.workdays.index_at_or_after(last.date())
            hi = self.workdays.index_at_or_after(due_day)
            for index in (lo + int((hi - lo) * rng.random() ** 1.6), lo) if hi > lo else ():
                ok_at = self._office_instant(self.workdays.at(index), last)
                if ok_at is not None and ok_at.date() < due_day:
                    break
                ok_at = None
            if ok_at is not None:
                dossier.ok_state = "finished_early"
        if ok_at is None:
            # On the due date itself, possibly after the due instant: still on time when dates compare.
            if self.workdays.is_working(due_day) or due_day == last.date():
                ok_at = self._office_instant(due_day, last)
                if ok_at is None:  # the last step came after office hours on the due date
                    floor = _second_of_day(last) + 1 if due_day == last.date() else 0
                    ok_at = self._at(due_day, floor + rng.randrange(0, max(1, (_DAY_END - floor) // 4)))
                dossier.ok_state = "finished_on_time"
            else:
                # Calendar-day deadline on a day off: nobody works then, so "in time" means before it.
                index = self.workdays.index_at_or_after(due_day) - 1
                ok_at = self._office_instant(self.workdays.at(index), last)
                if ok_at is None or ok_at.date() < last.date():
                    ok_at = last + timedelta(minutes=rng.randrange(1, 30))
                dossier.ok_state = "finished_early" if ok_at.date() < due_day else "finished_on_time"
        dossier.ok_at = ok_at
        # Late: an office instant on a working day strictly after the due date.
        first_after = self.workdays.index_at_or_after(due_day + timedelta(days=1))
        late_by = rng.choices(*_LATE_BY_DAYS)[0]
        day = self.workdays.at(first_after + late_by - 1)
        dossier.late_at = self._at(day, _office_second(rng) or _MORNING[0])

    # ---- the run --------------------------------------------------------------------------------------

    def run(self) -> GeneratedTraffic:
        spec, rng = self.spec, self.rng
        units = self._eligible_units()
        if not units:
            raise ValueError("the unit tree has no department or commune active in the period")
        procedures = {
            level: [p for p in self.catalogue.for_level(level) if self._has_deadline(p)]
            for level in ("commune", "province")
        }
        departments = [u for u in units if u.kind == UnitKind.DEPARTMENT]
        by_department = self._department_procedures(departments, procedures["province"])
        communes = [u for u in units if u.kind == UnitKind.COMMUNE]
        province_name = self._province_name()

        commune_weights = self._procedure_weights(procedures["commune"], _BUSY_COMMUNE_FIELDS)
        commune_cum = list(accumulate(commune_weights))
        unit_procedures: list[tuple[list[Procedure], list[float]]] = []
        volumes: list[float] = []
        for unit in units:
            if unit.kind == UnitKind.DEPARTMENT:
                own = by_department[unit.code]
                unit_procedures.append((own, list(accumulate(self._procedure_weights(own, ())))))
            else:
                own = procedures["commune"]
                unit_procedures.append((own, commune_cum))
            has_days = bool(self._receipt_days(unit)[0])
            volumes.append(self._volume(unit) if own and has_days else 0.0)
        if spec.dossiers and not any(volumes):
            raise ValueError("no unit can receive dossiers: no procedures with a deadline, or no working days")

        # 1. Who receives what, when.
        counts = Counter(rng.choices(range(len(units)), cum_weights=list(accumulate(volumes)), k=spec.dossiers))
        dossiers: list[_Dossier] = []
        for i, unit in enumerate(units):
            count = counts.get(i, 0)
            if not count:
                continue
            days, day_cum, saturdays = self._receipt_days(unit)
            own, own_cum = unit_procedures[i]
            picked_days = rng.choices(days, cum_weights=day_cum, k=count)
            picked_procedures = rng.choices(own, cum_weights=own_cum, k=count)
            batch = []
            for day, procedure in zip(picked_days, picked_procedures, strict=True):
                received_at, channel = self._receipt(day, saturdays)
                applicant = self._applicant(unit, channel, communes, province_name)
                batch.append(_Dossier(unit, procedure, received_at, channel, applicant))
            self._assign_codes(unit, batch, i)
            dossiers.extend(batch)

        # 2. Fates.
        for dossier in dossiers:
            self._plan(dossier)

        # 3. Lateness, chosen so that late / finished ≈ late_share as of `now`. A late dossier finishes
        # later than it would have in time, so more of them are still open at `now`; the probability is
        # raised to make up for exactly that: q·B / ((1 − q)·A + q·B) = s.
        now = self.now
        resolving = [d for d in dossiers if d.fate == "resolve"]
        in_time_done = sum(1 for d in resolving if d.ok_at <= now)  # A
        late_done = sum(1 for d in resolving if d.late_at <= now)  # B ⊆ A
        s = spec.late_share
        denominator = late_done * (1.0 - s) + s * in_time_done
        q = min(1.0, s * in_time_done / denominator) if denominator > 0 else s
        for dossier in resolving:
            dossier.late = rng.random() < q

        # 4. Events, as of `now`.
        messages: list[dict[str, Any]] = []
        expected: dict[str, Counter[str]] = {unit.code: Counter() for unit in units}
        for dossier in dossiers:
            expected[dossier.unit.code][self._emit(dossier, messages)] += 1

        # 5. The bus: everything out of order, some messages delivered twice (or more).
        distinct = len(messages)
        duplicates = round(spec.duplicate_share * distinct)
        if distinct:
            for original in rng.choices(messages[:distinct], k=duplicates):
                messages.append(_copy_message(original))
        rng.shuffle(messages)
        return GeneratedTraffic(messages=messages, distinct_events=distinct, dossiers=len(dossiers), expected=expected)

    def _province_name(self) -> str:
        root = self._root()
        if root is None:
            return ""
        name = unicodedata.normalize("NFC", root.name).strip()
        name = re.sub(r"(?i)^(ủy ban nhân dân|ubnd)\s+", "", name)
        return name if re.match(r"(?i)^(tỉnh|thành phố)\s", name) else f"tỉnh {name}"

    def _assign_codes(self, unit: Unit, batch: list[_Dossier], unit_index: int) -> None:
        """MaHoSo as the one-door numbers it: <agency portal code>-<yymmdd>-<daily sequence>."""
        if unit.kind == UnitKind.COMMUNE:
            agency = f"{self.portal_prefix}.{100 + unit_index}"
        else:
            agency = f"{self.portal_prefix}.{unit_index + 1:02d}"
        batch.sort(key=lambda d: d.received_at)
        sequence: Counter[date] = Counter()
        for dossier in batch:
            day = dossier.received_at.date()
            sequence[day] += 1
            dossier.code = f"{agency}-{day:%y%m%d}-{sequence[day]:04d}"

    def _emit(self, dossier: _Dossier, out: list[dict[str, Any]]) -> str:
        """Append the dossier's events that happened by ``now``; return its state as of ``now``."""
        rng, now, spec = self.rng, self.now, self.spec
        code = dossier.code
        procedure = dossier.procedure
        received: dict[str, Any] = {
            "dossier_code": code,
            "procedure_code": procedure.code,
            "unit_code": dossier.unit.code,
            "received_at": dossier.received_at,
            "due_at": self._onedoor_due(dossier.initial_due) if rng.random() < spec.onedoor_due_mismatch_share
            else dossier.initial_due,
            "processing_time": procedure.processing_amount,
            "processing_time_unit": procedure.time_unit,
            "channel": dossier.channel,
            "applicant": dossier.applicant,
        }
        if procedure.field and len(str(procedure.field)) <= 64:
            received["field_code"] = str(procedure.field)
        self._event(out, "dossier.received", received, dossier.received_at)

        for requested, supplied in dossier.rounds or ():
            if requested > now:
                break
            self._event(
                out,
                "dossier.supplement_requested",
                {"dossier_code": code, "requested_at": requested, "reason": rng.choice(_SUPPLEMENT_REASONS)},
                requested,
            )
            if supplied is None or supplied > now:
                break
            self._event(out, "dossier.supplement_received", {"dossier_code": code, "supplied_at": supplied}, supplied)

        if dossier.fate in ("withdraw", "reject"):
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
        assert finished_at is not None and dossier.due is not None
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
        first_after = self.workdays.at(self.workdays.index_at_or_after(dossier.due.date() + timedelta(days=1)))
        detected = self._at(first_after, rng.randrange(300, 7 * 3600))  # 00:05–07:00, before anyone works
        if detected > self.now or detected >= finished_at or detected <= dossier.due:
            return
        promise_index = self.workdays.index_at_or_after(finished_at.date()) + rng.choice((0, 0, 1, 2))
        payload: dict[str, Any] = {
            "dossier_code": dossier.code,
            "detected_at": detected,
            "new_due_at": self._at(self.workdays.at(promise_index), 16 * 3600 + 1800),
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

    def _onedoor_due(self, due: datetime | None) -> datetime | None:
        """A due date the one-door got wrong (missed holiday, cutoff ignored, counted the receipt day)."""
        if due is None:
            return None
        rng = self.rng
        shift = rng.choice((timedelta(days=1), timedelta(days=-1), timedelta(days=2), timedelta(hours=4)))
        return due + shift

    def _event(self, out: list[dict[str, Any]], event_type: str, payload: dict[str, Any], at: datetime) -> None:
        event_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        out.append(make_envelope(event_type, payload, occurred_at=at, source=self.source, event_id=event_id))


def _copy_message(message: dict[str, Any]) -> dict[str, Any]:
    """An independent copy: a consumer that mutates one delivery must not change the other."""
    copy = dict(message)
    payload = dict(message["payload"])
    if isinstance(payload.get("applicant"), dict):
        payload["applicant"] = dict(payload["applicant"])
    copy["payload"] = payload
    return copy
