"""Sign-in throttling and lockout: pure decisions over counts the caller reads from the database.

Two brakes, both across replicas (the counts live in the web schema):
- an account is locked for ``lockout_minutes`` after ``lockout_failures`` consecutive wrong passwords (reset by a
  successful sign-in or by an administrator), so a password cannot be guessed online;
- an address is refused for the rest of its window after ``ip_failures_per_window`` failures, whatever names
  it tried, so one machine cannot spray common passwords over many accounts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.web.settings import WebSettings


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""  # Vietnamese, for the sign-in page
    retry_after_seconds: int = 0


def before_attempt(settings: WebSettings, ip_failures: int, locked_until: dt.datetime | None,
                   now: dt.datetime) -> Verdict:
    """May this sign-in be tried at all? (Checked before the password, so a locked account costs no hash.)"""
    if ip_failures >= settings.ip_failures_per_window:
        seconds = int(settings.ip_window_minutes * 60)
        return Verdict(False, "Có quá nhiều lần đăng nhập sai từ địa chỉ này. Vui lòng thử lại sau "
                              f"{int(settings.ip_window_minutes)} phút.", seconds)
    if locked_until is not None and locked_until > now:
        seconds = int((locked_until - now).total_seconds()) + 1
        minutes = max(1, (seconds + 59) // 60)
        return Verdict(False, f"Tài khoản tạm khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau {minutes} phút "
                              "hoặc liên hệ quản trị viên.", seconds)
    return Verdict(True)


def after_failure(settings: WebSettings, consecutive_failures: int, now: dt.datetime) -> dt.datetime | None:
    """The account's new lock time after one more failure (None: not locked yet)."""
    if consecutive_failures >= settings.lockout_failures:
        return now + dt.timedelta(minutes=settings.lockout_minutes)
    return None


def window_start(settings: WebSettings, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(minutes=settings.ip_window_minutes)
