"""Processing times as provinces write them (thời hạn giải quyết), read into an amount and a unit.

The National Database on Administrative Procedures (CSDLQG về TTHC) and the chairman's decisions that announce
a province's catalogue give each procedure's processing time as free Vietnamese text, e.g.

================================================================== ==========================================
text                                                               read as
================================================================== ==========================================
``05 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ``               5 working days
``Không quá 15 ngày``                                              15 calendar days ("ngày" alone = calendar)
``03 ngày làm việc (cắt giảm 30%)``                                3 working days, marked as a reduced time
``02 giờ làm việc``                                                2 working hours
``Trong ngày`` / ``Ngay trong ngày làm việc``                      same day: 2 working hours, 15:00 cut-off
``0,5 ngày làm việc`` / ``1/2 ngày làm việc``                      half a working day
``02 tuần``                                                        14 calendar days (Civil Code art. 148)
``Không quy định``                                                 no time limit
================================================================== ==========================================

"Same day" is written as 2 working hours with the 15:00 cut-off, as the packaged catalogue does
(docs/decisions.md): counted from the receipt, or from the next morning after 15:00, it always ends on the
legal due date. Only the first clause counts: "05 ngày làm việc; trường hợp phải xác minh thì không quá 10 ngày
làm việc" is 5 working days, and words in parentheses ("(quy định 05 ngày)") never give the time. A mention of
"sau 15 giờ" anywhere sets the cut-off.

What cannot be read safely is refused with the reason, never guessed: months (their length varies; the Civil
Code counts them to the same day of the last month), a plain "giờ" (calendar or working hours?), ranges,
several different times in the main clause, different times per channel, numbers written in words.

Pure functions: no I/O, so every form is unit-tested (tests/unit/test_time_text.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from services.dossiers.deadlines import TimeUnit

__all__ = ["SAME_DAY", "ParsedTime", "TimeTextError", "parse_time_text"]

# The longest legal times seen in real catalogues are a few months (land disputes: 45–90 days); anything far
# beyond is a typing error (a year written as days, a code pasted into the wrong column).
LIMITS = {TimeUnit.WORKING_DAYS: Decimal(365), TimeUnit.CALENDAR_DAYS: Decimal(730),
          TimeUnit.WORKING_HOURS: Decimal(8 * 365)}


class TimeTextError(ValueError):
    """A processing time that cannot be read; ``reason`` says why, in Vietnamese words an office clerk can act on."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r}: {reason}")
        self.text = text
        self.reason = reason


@dataclass(frozen=True)
class ParsedTime:
    """A processing time read from text: ``amount`` is None exactly when ``unit`` is NONE."""

    amount: Decimal | None
    unit: TimeUnit
    cutoff_15h: bool = False  # a receipt after 15:00 counts from the next working day
    same_day: bool = False  # written "trong ngày": stored as 2 working hours with the cut-off
    reduced: bool = False  # the text says the province cut the time (cắt giảm)

    def describe(self) -> str:
        """The time as a Vietnamese reader writes it (used in listings)."""
        if self.unit is TimeUnit.NONE:
            return "Không quy định"
        if self.same_day:
            return "Trong ngày"
        word = {TimeUnit.WORKING_DAYS: "ngày làm việc", TimeUnit.CALENDAR_DAYS: "ngày",
                TimeUnit.WORKING_HOURS: "giờ làm việc"}[self.unit]
        assert self.amount is not None
        return f"{_plain(self.amount)} {word}"


# Same day: 2 working hours from the receipt (or from the next morning after the 15:00 cut-off).
SAME_DAY = ParsedTime(amount=Decimal(2), unit=TimeUnit.WORKING_HOURS, cutoff_15h=True, same_day=True)

_NO_LIMIT = re.compile(
    r"^(không|chưa)( có)? (quy định|qui định|thời hạn)( thời hạn)?( giải quyết)?$|^không$|^không quy định thời gian$"
)
_CHANNEL = re.compile(r"(trực tiếp|trực tuyến|dịch vụ bưu chính|bưu chính(?: công ích)?)\s*:")
_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_NUMBER = r"\d+(?:[.,]\d+)?(?:\s*/\s*\d+)?"
_UNITS = r"ngày làm việc|ngày|giờ làm việc|giờ|h làm việc|tháng|tuần|phút|năm"
_AMOUNT_UNIT = re.compile(rf"(?<![\d.,/])({_NUMBER})\s*({_UNITS})(?!\w)")
_RANGE = re.compile(rf"\d+(?:[.,]\d+)?\s*(?:-|–|—|đến|tới)\s*\d+(?:[.,]\d+)?\s*(?:{_UNITS})(?!\w)")
_SAME_DAY = re.compile(
    r"(^|\s)(ngay\s+)?trong\s+(ngày|buổi)(\s+làm việc)?(?!\w)|^ngay(?!\w)|(^|\s)(giải quyết|trả|trả kết quả) ngay(?!\w)"
)
_CUTOFF = re.compile(r"sau\s+15\s*(giờ|h|:00)")
# A clock time ("nhận sau 15 giờ", "trước 15h00") is a cut-off, not a duration: removed before reading the time.
_CLOCK = re.compile(r"(trước|sau|lúc|từ|đến)\s+\d{1,2}\s*(?:giờ|h|:)\s*(?:\d{2}(?:\s*phút)?)?(?!\w)")
# A minus sign before a number that does not end a range ("05 - 07"): "-3 ngày làm việc" is a typing error, not 3.
_NEGATIVE = re.compile(r"(?<![\d\s])\s*[-−–—]\s*\d|^[-−–—]\s*\d")
_REDUCED = re.compile(r"(cắt\s+)?giảm\b|rút ngắn")


def _normalised(text: str) -> str:
    """NFC, lower case, one space between words: files mix composed and decomposed text and odd spacing."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = text.replace("\u00a0", " ").replace("½", "1/2")
    return " ".join(text.split()).strip(" .")


def _plain(amount: Decimal) -> str:
    """5 → '5', 0.50 → '0.5' (no exponent, no trailing zeros)."""
    text = format(amount.normalize(), "f")
    return text


def _amount(text: str, original: str) -> Decimal:
    compact = text.replace(" ", "")
    try:
        if "/" in compact:
            numerator, denominator = compact.split("/")
            value = Decimal(numerator.replace(",", ".")) / Decimal(denominator)
        else:
            value = Decimal(compact.replace(",", "."))
    except (InvalidOperation, ZeroDivisionError):
        raise TimeTextError(original, f"'{text}' không phải là số") from None
    if not value.is_finite() or value <= 0:
        raise TimeTextError(original, f"thời hạn phải lớn hơn 0, đang ghi '{text}'")
    return value


def _unit(word: str, original: str) -> tuple[TimeUnit, Decimal]:
    """The deadline unit of a Vietnamese unit word, and the factor to multiply the amount by."""
    if word == "ngày làm việc":
        return TimeUnit.WORKING_DAYS, Decimal(1)
    if word == "ngày":
        return TimeUnit.CALENDAR_DAYS, Decimal(1)
    if word in ("giờ làm việc", "h làm việc"):
        return TimeUnit.WORKING_HOURS, Decimal(1)
    if word == "tuần":
        return TimeUnit.CALENDAR_DAYS, Decimal(7)  # Civil Code art. 148: to the same weekday, 7 days a week
    if word == "giờ":
        raise TimeTextError(original, "'giờ' không kèm 'làm việc': ghi 'giờ làm việc' nếu là giờ hành chính, "
                                      "hoặc ghi thời hạn bằng ngày")
    if word == "tháng":
        raise TimeTextError(original, "thời hạn tính bằng tháng không tính được hạn xử lý (số ngày mỗi tháng khác "
                                      "nhau): ghi số ngày ('ngày' hoặc 'ngày làm việc')")
    if word == "năm":
        raise TimeTextError(original, "thời hạn tính bằng năm không tính được hạn xử lý: ghi số ngày")
    raise TimeTextError(original, f"'{word}' không phải đơn vị thời hạn (ngày, ngày làm việc, giờ làm việc, tuần)")


def _main_clause(text: str) -> str:
    """The clause that states the time: before the first ';', newline or 'trường hợp' (exceptions follow it)."""
    clause = re.split(r";|\n|(?:\s|^)(?:riêng\s+)?(?:đối với\s+)?trường hợp\s", text, maxsplit=1)[0]
    return clause.strip(" ,.:-")


def _read_clause(clause: str, original: str) -> ParsedTime:
    """One clause (parentheses already removed): a same-day phrase, or exactly one amount with its unit."""
    clause = " ".join(_CLOCK.sub(" ", clause).split())
    if _RANGE.search(clause):
        raise TimeTextError(original, "ghi một khoảng thời hạn: chỉ ghi một thời hạn mà thủ tục cho phép")
    found = _AMOUNT_UNIT.findall(clause)
    if not found:
        if _SAME_DAY.search(clause):
            return SAME_DAY
        if _NO_LIMIT.match(clause):
            return ParsedTime(amount=None, unit=TimeUnit.NONE)
        raise TimeTextError(original, "không tìm thấy thời hạn (ví dụ '05 ngày làm việc', 'Không quá 15 ngày', "
                                      "'02 giờ làm việc', 'Trong ngày', 'Không quy định'; số ghi bằng chữ số)")
    times = set()
    for number, word in found:
        unit, factor = _unit(word, original)
        times.add((_amount(number, original) * factor, unit))
    if len(times) > 1:
        listed = ", ".join(ParsedTime(a, u).describe() for a, u in sorted(times, key=lambda t: (t[1].value, t[0])))
        raise TimeTextError(original, f"nhiều thời hạn khác nhau trong cùng một ý ({listed}): ghi thời hạn áp "
                                      "dụng, các trường hợp ngoại lệ đặt sau dấu ';'")
    amount, unit = times.pop()
    if amount > LIMITS[unit]:
        raise TimeTextError(original, f"{ParsedTime(amount, unit).describe()} dài bất thường (quá "
                                      f"{ParsedTime(LIMITS[unit], unit).describe()}): kiểm tra lại cột")
    return ParsedTime(amount=amount, unit=unit)


def parse_time_text(text: str | None) -> ParsedTime:
    """Read a processing time written in Vietnamese; raise :class:`TimeTextError` with the reason otherwise."""
    original = "" if text is None else str(text)
    normal = _normalised(original)
    if not normal:
        raise TimeTextError(original, "bỏ trống: ghi 'Không quy định' nếu thủ tục không có thời hạn")
    if _NO_LIMIT.match(normal):
        return ParsedTime(amount=None, unit=TimeUnit.NONE)
    if _NEGATIVE.search(normal):
        raise TimeTextError(original, "thời hạn là số âm: ghi số ngày hoặc giờ lớn hơn 0 (ví dụ '03 ngày làm việc')")
    channels = _CHANNEL.split(normal)
    if len(channels) > 1:
        # "Trực tiếp: 05 ngày làm việc; Trực tuyến: 05 ngày làm việc": one time only if every channel agrees.
        parts = [_read_clause(_main_clause(_PARENS.sub(" ", part)), original)
                 for part in channels[2::2]]
        if len(set(parts)) > 1:
            raise TimeTextError(original, "thời hạn khác nhau theo cách nộp (trực tiếp, trực tuyến, bưu chính): "
                                          "danh mục giữ một thời hạn cho mỗi thủ tục; ghi thời hạn bộ phận một cửa "
                                          "áp dụng")
        parsed = parts[0]
    else:
        without_notes = " ".join(_PARENS.sub(" ", normal).split())
        parsed = _read_clause(_main_clause(without_notes), original)
    if parsed.unit is TimeUnit.NONE:
        return parsed
    cutoff = parsed.cutoff_15h or bool(_CUTOFF.search(normal))
    reduced = bool(_REDUCED.search(normal))
    return ParsedTime(parsed.amount, parsed.unit, cutoff_15h=cutoff, same_day=parsed.same_day, reduced=reduced)
