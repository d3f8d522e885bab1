"""What every ``cchc`` command needs to refuse bad input in one line: files, periods, instants.

A clerk who types a wrong file name or ``--period 2026-13`` must read one line that names the argument or the
file and the reason ("lỗi: …", exit 2), never a traceback. Commands read their input files through
:func:`read_input`, take periods and instants through the argparse ``type=`` functions below, and ``cchc``'s
entry point (:func:`guarded`) turns :class:`InputError` — and, as a safety net, the unreadable-file errors a
command did not translate — into that line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["CchcParser", "InputError", "date_arg", "file_reason", "guarded", "instant_arg", "period_arg", "read_input"]

PREFIX = "lỗi: "
USAGE = 2  # exit status of a usage or input error, as argparse uses


class InputError(Exception):
    """Bad command-line input; the message (Vietnamese) names the argument or the file and the reason."""


def file_reason(exc: OSError) -> str:
    """Why a file cannot be read, in words an office clerk can act on."""
    if isinstance(exc, FileNotFoundError):
        return "không tồn tại"
    if isinstance(exc, IsADirectoryError):
        return "là một thư mục, không phải tệp"
    if isinstance(exc, PermissionError):
        return "không có quyền đọc"
    return f"không đọc được ({exc.strerror or exc})"


def read_input(path: str | Path) -> bytes:
    """The whole file, or :class:`InputError` naming it and the reason."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"tệp {path}: {file_reason(exc)}") from None


def decode_text(data: bytes, path: str | Path) -> str:
    """UTF-8 text (a BOM is dropped), or :class:`InputError`: spreadsheets often save CSV in Windows-1258."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"tệp {path}: không phải văn bản UTF-8 (byte {exc.start}); lưu lại tệp dạng "
                         "'CSV UTF-8'") from None


def period_arg(text: str) -> str:
    """argparse ``type=`` for ``--period``: the label as typed, once it names a period that exists."""
    from services.dossiers.periods import PeriodError, parse_period

    try:
        parse_period(text)
    except PeriodError:
        raise argparse.ArgumentTypeError(
            f"kỳ {text!r} không hợp lệ: ghi năm (2026), nửa năm (2026-H1), quý (2026-Q3) hoặc tháng 01–12 "
            "(2026-08)") from None
    return text


def instant_arg(text: str) -> dt.datetime:
    """argparse ``type=`` for ``--now``: an ISO 8601 instant with its offset (a naive time could be anything)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} không phải thời điểm ISO 8601 (ví dụ 2026-08-15T09:00:00+07:00)") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} thiếu múi giờ (ví dụ 2026-08-15T09:00:00+07:00)")
    return value


def date_arg(text: str) -> dt.date:
    """argparse ``type=`` for a day (``--start``): ISO 8601, 2026-08-15."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} không phải ngày ISO 8601 (ví dụ 2026-08-15)") from None


class CchcParser(argparse.ArgumentParser):
    """argparse with ``cchc``'s one-line error ("lỗi: tham số --period: …", exit 2); sub-parsers inherit it."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("argument "):
            message = "tham số " + message.removeprefix("argument ")
        self.exit(USAGE, f"{PREFIX}{self.prog}: {message}\n")


def guarded(command: Callable[[], Any]) -> int:
    """Run a command; bad input (and a file the command did not manage to read) is one line and exit 2."""
    try:
        return int(command() or 0)
    except InputError as exc:
        message = str(exc)
    except OSError as exc:
        if exc.filename is None:
            raise
        message = f"tệp {exc.filename}: {file_reason(exc)}"
    except UnicodeDecodeError as exc:
        message = f"tệp không phải văn bản UTF-8 (byte {exc.start}); lưu lại tệp dạng 'CSV UTF-8'"
    except zipfile.BadZipFile:
        message = "tệp không phải bảng tính XLSX (không mở được dạng ZIP của Excel)"
    print(PREFIX + message, file=sys.stderr)
    return USAGE
