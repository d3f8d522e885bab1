"""The Vietnamese working calendar: which days the offices are open, and working time between instants.

Every deadline in the system is counted here, so this is the one home for:

* working days (ngày làm việc): Monday-Friday, minus public holidays, plus make-up Saturdays. The national
  holidays and the government's yearly day swaps come from the ``holidays`` package (it knows Tết, Hùng
  Kings' day, 2/9 and its adjacent day, 24/11 from 2026, and swaps such as "2025-05-02 off, Saturday
  2025-04-26 worked"); a province adds or removes days through configuration, without a release;
* working sessions (e.g. 07:30-11:30 and 13:00-17:00, configurable per unit), because one-door systems count
  processing time in working hours, not just whole days;
* the Civil Code art. 148 rule for periods counted in calendar days: a period ending on a day off ends on the
  next working day instead.

All instants are timezone-aware and are read in Asia/Ho_Chi_Minh: "15:00" on a dossier means 15:00 at the
desk, whatever zone the caller used.

Performance: this runs for every dossier on every event batch, so days are turned into per-year tables
(working flag, running count and list of working days) built once, and instants into (day ordinal,
microseconds since midnight). Moving N working days or counting the working days between two dates is then
an index lookup, never a day-by-day or minute-by-minute walk.
"""

from __future__ import annotations

import functools
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import holidays

LOCAL_TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")

_US_PER_MINUTE = 60_000_000
_US_PER_SECOND = 1_000_000
_LOCAL_EPOCH = datetime(2000, 1, 1, tzinfo=LOCAL_TZ)
_LOCAL_EPOCH_ORDINAL = _LOCAL_EPOCH.toordinal()
_CONFIG_KEYS = ("extra_holidays", "extra_workdays", "removed_holidays", "sessions")
_SESSION_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WorkSession:
    """One office session of a working day (buổi làm việc), e.g. the morning 07:30-11:30.

    Whole minutes only, so that a day always holds a whole number of working minutes.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"WorkSession.{name} must be a naive local time, got {value!r}")
            if value.second or value.microsecond:
                raise ValueError(f"WorkSession.{name} must be a whole minute, got {value.isoformat()}")
        if self.start >= self.end:
            raise ValueError(f"WorkSession must start before it ends, got {self}")

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


DEFAULT_SESSIONS = (WorkSession(time(7, 30), time(11, 30)), WorkSession(time(13, 0), time(17, 0)))


@functools.cache
def _national_working_flags(year: int) -> bytes:
    """One byte per day of ``year``: 1 if it is a working day nationally, as the ``holidays`` package says.

    We reuse ``HolidayBase.is_working_day`` as is: it treats a weekend day as worked only if it is one of the
    government's make-up days (``weekend_workdays``) and a weekday as off only if it is a holiday, which is
    exactly the rule. Outside the years ``holidays`` knows (1901-2100 for Vietnam) it returns no holidays, so
    those years fall back to plain Monday-Friday. Cached per year and shared by every calendar: the national
    days are the same for every province.
    """
    national = holidays.country_holidays("VN", years=year)
    first = date(year, 1, 1).toordinal()
    days = date(year + 1, 1, 1).toordinal() - first if year < 9999 else 365
    return bytes(national.is_working_day(date.fromordinal(first + i)) for i in range(days))


@dataclass(frozen=True, slots=True)
class _YearTable:
    """One year's working days in forms that make day arithmetic an index lookup.

    ``working_before[i]`` is the number of working days among the first ``i`` days of the year, and
    ``working_ordinals`` lists the working days' ordinals in order.
    """

    year: int
    first: int  # ordinal of 1 January
    end: int  # ordinal of the following 1 January (exclusive)
    flags: bytes
    working_before: tuple[int, ...]
    working_ordinals: tuple[int, ...]


class WorkingCalendar:
    """Working days and working sessions of one unit, with the province's own day overrides.

    ``extra_holidays`` closes days the national calendar keeps open (or cancels a make-up Saturday);
    ``removed_holidays`` reopens a weekday the national calendar closes; ``extra_workdays`` opens a day that
    would otherwise be closed (a local make-up Saturday). A date may not be both added and removed as a
    holiday, nor be both an extra holiday and an extra working day: such a configuration is a mistake, not a
    choice.
    """

    def __init__(
        self,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        removed_holidays: Iterable[date] = (),
        sessions: Sequence[WorkSession] = DEFAULT_SESSIONS,
    ) -> None:
        self._extra_holidays = _date_set("extra_holidays", extra_holidays)
        self._extra_workdays = _date_set("extra_workdays", extra_workdays)
        self._removed_holidays = _date_set("removed_holidays", removed_holidays)
        _reject_overlap("extra_holidays", self._extra_holidays, "extra_workdays", self._extra_workdays)
        _reject_overlap("extra_holidays", self._extra_holidays, "removed_holidays", self._removed_holidays)
        self._sessions = _validated_sessions(sessions)
        self._session_starts = tuple(_time_us(s.start) for s in self._sessions)
        self._session_ends = tuple(_time_us(s.end) for s in self._sessions)
        offsets = [0]
        for start, end in zip(self._session_starts, self._session_ends, strict=True):
            offsets.append(offsets[-1] + end - start)
        # _offsets_at_start[i]: working microseconds of the day already elapsed when session i starts.
        self._offsets_at_start = tuple(offsets[:-1])
        self._offsets_at_end = tuple(offsets[1:])
        self._day_us = offsets[-1]
        self._session_spans = tuple(
            zip(self._session_starts, self._session_ends, self._offsets_at_start, strict=True)
        )
        self._tables: dict[int, _YearTable] = {}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> WorkingCalendar:
        """Build a calendar from a province's configuration (parsed YAML/JSON).

        Keys, all optional: ``extra_holidays``, ``extra_workdays``, ``removed_holidays`` (lists of ISO date
        strings or dates) and ``sessions`` (list of "07:30-11:30" strings). Unknown keys are rejected, because
        a misspelt key would otherwise silently leave a holiday out of every deadline.
        """
        unknown = sorted(set(cfg) - set(_CONFIG_KEYS))
        if unknown:
            raise ValueError(
                f"unknown working-calendar setting(s) {unknown}; expected some of {_CONFIG_KEYS}"
            )
        kwargs: dict[str, Any] = {
            key: [_parse_date(key, item) for item in _config_list(cfg, key)]
            for key in ("extra_holidays", "extra_workdays", "removed_holidays")
        }
        if cfg.get("sessions") is not None:
            kwargs["sessions"] = [_parse_session(item) for item in _config_list(cfg, "sessions")]
        return cls(**kwargs)

    # ----------------------------------------------------------------------------------------- days

    @property
    def sessions(self) -> tuple[WorkSession, ...]:
        """The working sessions of every working day, in order."""
        return self._sessions

    @property
    def minutes_per_day(self) -> int:
        """Working minutes in one working day (480 with the default sessions): the length of a "day"."""
        return self._day_us // _US_PER_MINUTE

    def is_working_day(self, d: date) -> bool:
        """True if the offices are open on ``d`` (after the province's overrides)."""
        ordinal = _plain_date(d).toordinal()
        table = self._table(d.year)
        return bool(table.flags[ordinal - table.first])

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d``; ``d`` itself is not counted.

        This is how the law counts a period in working days: received Friday 2025-01-24 with 3 working days is
        due Wednesday 2025-02-05, because the offices were closed for Tết from 27 to 31 January. ``n == 0``
        gives ``d`` itself if it is a working day, else the next one (as ``holidays``' get_nth_working_day).
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        ordinal = _plain_date(d).toordinal()
        if n == 0:
            ordinal -= 1
            n = 1
        return date.fromordinal(self._nth_working_after(ordinal, n))

    def add_calendar_days(self, d: date, n: int) -> date:
        """``d`` plus ``n`` calendar days; if that is not a working day, the next working day.

        Civil Code 2015, art. 148: a period counted in days that ends on a day off ends on the next working
        day.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        end = _plain_date(d).toordinal() + n
        if self._is_working_ordinal(end):
            return date.fromordinal(end)
        return date.fromordinal(self._nth_working_after(end, 1))

    def day_start(self, d: date) -> datetime:
        """The start of the first session on ``d`` (whether or not ``d`` is a working day)."""
        return datetime.combine(_plain_date(d), self._sessions[0].start, tzinfo=LOCAL_TZ)

    # ------------------------------------------------------------------------------------- instants

    def next_working_instant(self, t: datetime) -> datetime:
        """``t`` itself if it falls inside a session of a working day, else the start of the next session.

        A receipt after hours, at lunch or on a day off starts counting when the desk next opens. Session ends
        are exclusive: 17:00 sharp is after hours.
        """
        ordinal, clock, _ = self._next_working_position(*_position(t))
        return _instant(ordinal, clock)

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """The instant ``minutes`` working minutes after ``start``, walking the working sessions.

        A receipt Friday 15:00 plus 3 working days (3 x 480 minutes) is due at 15:00 on the third working day
        after. A ``start`` outside working time first moves to ``next_working_instant``. A result that falls
        exactly on the end of a session is that session's end (17:00 on the due day, not 07:30 the next
        morning; 11:30, not 13:00), because that is the last moment the period still runs.
        """
        if minutes < 0:
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        ordinal, clock, offset = self._next_working_position(*_position(start))
        if minutes == 0:
            return _instant(ordinal, clock)
        days, remainder = divmod(offset + minutes * _US_PER_MINUTE, self._day_us)
        if remainder == 0:  # exactly at the end of a day: stay on that day's last session end
            days -= 1
            remainder = self._day_us
        if days:
            ordinal = self._nth_working_after(ordinal, days)
        return _instant(ordinal, self._clock_at_offset(remainder))

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Working minutes in ``[a, b)`` (0 if ``b <= a``): how long the office had to act between two events.

        Whole minutes, rounded down.
        """
        a_ordinal, a_clock = _position(a)
        b_ordinal, b_clock = _position(b)
        if (b_ordinal, b_clock) <= (a_ordinal, a_clock):
            return 0
        whole_days = self._count_working(a_ordinal, b_ordinal)
        elapsed = (
            whole_days * self._day_us
            - self._offset_on_day(a_ordinal, a_clock)
            + self._offset_on_day(b_ordinal, b_clock)
        )
        return elapsed // _US_PER_MINUTE

    # -------------------------------------------------------------------------------------- internals

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._tables[year] = self._build_table(year)
        return table

    def _build_table(self, year: int) -> _YearTable:
        flags = bytearray(_national_working_flags(year))
        first = date(year, 1, 1).toordinal()
        for d in self._removed_holidays:
            if d.year == year and d.weekday() < 5:
                flags[d.toordinal() - first] = 1
        for d in self._extra_holidays:
            if d.year == year:
                flags[d.toordinal() - first] = 0
        for d in self._extra_workdays:
            if d.year == year:
                flags[d.toordinal() - first] = 1
        working_before = [0]
        for flag in flags:
            working_before.append(working_before[-1] + flag)
        working_ordinals = tuple(first + i for i, flag in enumerate(flags) if flag)
        return _YearTable(
            year, first, first + len(flags), bytes(flags), tuple(working_before), working_ordinals
        )

    def _table_for_ordinal(self, ordinal: int) -> _YearTable:
        return self._table(date.fromordinal(ordinal).year)

    def _is_working_ordinal(self, ordinal: int) -> bool:
        table = self._table_for_ordinal(ordinal)
        return bool(table.flags[ordinal - table.first])

    def _nth_working_after(self, ordinal: int, n: int) -> int:
        """Ordinal of the ``n``-th (n >= 1) working day strictly after ``ordinal``, skipping whole years."""
        table = self._table_for_ordinal(ordinal)
        index = table.working_before[ordinal - table.first + 1] + n - 1
        while index >= len(table.working_ordinals):
            index -= len(table.working_ordinals)
            table = self._table(table.year + 1)
        return table.working_ordinals[index]

    def _count_working(self, start: int, stop: int) -> int:
        """Number of working days with ordinal in ``[start, stop)``."""
        table = self._table_for_ordinal(start)
        before_start = table.working_before[start - table.first]
        count = 0
        while stop > table.end:
            count += len(table.working_ordinals)
            table = self._table(table.year + 1)
        return count + table.working_before[stop - table.first] - before_start

    def _next_working_position(self, ordinal: int, clock: int) -> tuple[int, int, int]:
        """(day ordinal, microseconds since midnight, working microseconds already elapsed that day) of the
        first working instant at or after the given one."""
        if self._is_working_ordinal(ordinal):
            for start, end, offset in self._session_spans:
                if clock < end:
                    if clock >= start:
                        return ordinal, clock, offset + clock - start
                    return ordinal, start, offset
        return self._nth_working_after(ordinal, 1), self._session_starts[0], 0

    def _offset_on_day(self, ordinal: int, clock: int) -> int:
        """Working microseconds of day ``ordinal`` before ``clock``; 0 on a day off."""
        if not self._is_working_ordinal(ordinal):
            return 0
        elapsed = 0
        for start, end, _ in self._session_spans:
            if clock <= start:
                break
            elapsed += min(clock, end) - start
        return elapsed

    def _clock_at_offset(self, offset: int) -> int:
        """Earliest time of day (microseconds) at which ``offset`` (0 < offset <= day length) working
        microseconds have elapsed: a session end rather than the next session's start."""
        for start, offset_start, offset_end in zip(
            self._session_starts, self._offsets_at_start, self._offsets_at_end, strict=True
        ):
            if offset <= offset_end:
                return start + offset - offset_start
        raise AssertionError(f"offset {offset} beyond the working day")  # pragma: no cover


def _position(t: datetime) -> tuple[int, int]:
    """(local day ordinal, microseconds since local midnight) of an aware instant."""
    if t.tzinfo is not LOCAL_TZ:
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is required, got naive {t!r}")
        t = t.astimezone(LOCAL_TZ)
    clock = ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond
    return t.toordinal(), clock


def _instant(ordinal: int, clock: int) -> datetime:
    """The aware local datetime at ``clock`` microseconds after midnight of day ``ordinal``.

    Wall-clock arithmetic is right here: Asia/Ho_Chi_Minh has had no daylight saving since 1975.
    """
    return _LOCAL_EPOCH + timedelta(days=ordinal - _LOCAL_EPOCH_ORDINAL, microseconds=clock)


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def _plain_date(d: date) -> date:
    """Reject datetimes where a date is meant: a datetime's date depends on its zone; the caller decides."""
    if isinstance(d, datetime) or not isinstance(d, date):
        raise ValueError(f"a date is required, got {d!r}")
    return d


def _date_set(name: str, values: Iterable[date]) -> frozenset[date]:
    result = set()
    for value in values:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValueError(f"{name}: expected dates, got {value!r}")
        result.add(value)
    return frozenset(result)


def _reject_overlap(name_a: str, a: frozenset[date], name_b: str, b: frozenset[date]) -> None:
    both = sorted(a & b)
    if both:
        raise ValueError(f"{name_a} and {name_b} both contain {[d.isoformat() for d in both]}")


def _validated_sessions(sessions: Sequence[WorkSession]) -> tuple[WorkSession, ...]:
    result = tuple(sessions)
    if not result:
        raise ValueError("sessions: at least one working session is required")
    for session in result:
        if not isinstance(session, WorkSession):
            raise ValueError(f"sessions: expected WorkSession items, got {session!r}")
    for earlier, later in itertools.pairwise(result):
        if later.start < earlier.end:
            raise ValueError(f"sessions: must be in order and not overlap, got {earlier} then {later}")
    return result


def _config_list(cfg: Mapping[str, Any], key: str) -> list[Any]:
    value = cfg.get(key)
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValueError(f"{key}: expected a list, got {value!r}")
    return list(value)


def _parse_date(key: str, value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{key}: not an ISO date (YYYY-MM-DD): {value!r}")


def _parse_session(value: Any) -> WorkSession:
    match = _SESSION_PATTERN.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"sessions: expected 'HH:MM-HH:MM', got {value!r}")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    try:
        return WorkSession(time(start_h, start_m), time(end_h, end_m))
    except ValueError as exc:
        raise ValueError(f"sessions: invalid session {value!r}: {exc}") from None
