"""The web application's pure rules: throttling, roles and unit scopes, passwords, the 766 table, periods in URLs,
document scope, redirects after sign-in, settings, the vendored files' checksums, the trend chart."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal
from pathlib import Path

import pytest

from services.dossiers.periods import PeriodError, parse_period
from services.web import figures, passwords, throttle
from services.web.access import Forbidden, Permission, Principal, Role, UnitScope, acts_for, parse_roles
from services.web.pages.auth import safe_next
from services.web.pages.documents import document_unit, group_versions, visible
from services.web.settings import WebSettings, load_settings
from shared.config import load_config
from shared.svg_charts import Series, line_svg

NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
SETTINGS = WebSettings(lockout_failures=5, lockout_minutes=15, ip_failures_per_window=20, ip_window_minutes=15)


def principal(*roles: Role, units: tuple[str, ...] = ()) -> Principal:
    return Principal(1, "x", "X", frozenset(roles), units, "csrf")


# -- throttling ---------------------------------------------------------------------------------------------
def test_account_locks_after_the_fifth_failure_and_unlocks_after_the_lock_time():
    assert throttle.after_failure(SETTINGS, 4, NOW) is None
    until = throttle.after_failure(SETTINGS, 5, NOW)
    assert until == NOW + dt.timedelta(minutes=15)
    refused = throttle.before_attempt(SETTINGS, 0, until, NOW + dt.timedelta(minutes=1))
    assert not refused.allowed and "tạm khóa" in refused.reason and refused.retry_after_seconds == 14 * 60 + 1
    assert throttle.before_attempt(SETTINGS, 0, until, until + dt.timedelta(seconds=1)).allowed


def test_an_address_with_too_many_failures_is_refused_whatever_the_account():
    verdict = throttle.before_attempt(SETTINGS, 20, None, NOW)
    assert not verdict.allowed and "địa chỉ" in verdict.reason
    assert throttle.before_attempt(SETTINGS, 19, None, NOW).allowed


# -- roles and scope ------------------------------------------------------------------------------------------
PARENTS = {"P25": None, "07900": "P25", "07894": "P25", "H44.22": "P25", "D1": "P25", "C1": "D1", "C2": "D1"}


def test_unit_officer_sees_his_units_and_the_units_below_them_only():
    scope = UnitScope(principal(Role.UNIT_OFFICER, units=("07900", "D1")), PARENTS)
    assert {c for c in PARENTS if scope.allows(c)} == {"07900", "D1", "C1", "C2"}
    with pytest.raises(Forbidden):
        scope.require("07894")
    assert scope.filter([{"unit_code": "C1"}, {"unit_code": "P25"}]) == [{"unit_code": "C1"}]


def test_only_a_units_own_people_act_for_it_in_the_season_not_readers_of_everything():
    officer = principal(Role.UNIT_OFFICER, units=("D1",))
    assert [c for c in PARENTS if acts_for(officer, c, PARENTS)] == ["D1", "C1", "C2"]
    assert not any(acts_for(principal(Role.PROVINCE_ADMIN), c, PARENTS) for c in PARENTS)


@pytest.mark.parametrize("role", [Role.PROVINCE_ADMIN, Role.APPRAISER, Role.LEADER])
def test_readers_of_everything_see_every_unit(role):
    assert all(UnitScope(principal(role), PARENTS).allows(c) for c in PARENTS)


def test_permissions_follow_roles():
    assert principal(Role.PROVINCE_ADMIN).can(Permission.MANAGE_ACCOUNTS)
    assert principal(Role.APPRAISER).can(Permission.APPRAISE)
    assert not principal(Role.APPRAISER).can(Permission.BUILD_DOCUMENTS)
    assert not principal(Role.LEADER).can(Permission.RETRY_NOTIFICATIONS)
    assert principal(Role.UNIT_OFFICER).permissions == frozenset({Permission.SELF_ASSESS})  # drafts, answers
    assert principal(Role.UNIT_HEAD).can(Permission.SUBMIT_SELF_ASSESSMENT)
    assert not principal(Role.UNIT_OFFICER).can(Permission.SUBMIT_SELF_ASSESSMENT)
    assert not principal(Role.APPRAISER).can(Permission.PUBLISH_RESULTS)
    with pytest.raises(Forbidden):
        principal(Role.LEADER).require(Permission.MANAGE_ACCOUNTS)
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        parse_roles(["leader", "boss"])


# -- passwords --------------------------------------------------------------------------------------------------
def test_argon2_hash_verifies_only_its_password_and_refuses_weak_ones():
    hashed = passwords.hash_password("Mot-mat-khau-dai")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify(hashed, "Mot-mat-khau-dai")
    assert not passwords.verify(hashed, "mot-mat-khau-dai")
    assert not passwords.verify(None, "anything")  # an SSO-only account has no password
    assert passwords.password_problem("ngan", "an") == "Mật khẩu cần ít nhất 10 ký tự."
    assert "tên đăng nhập" in passwords.password_problem("xx-nguyenvan-2026", "nguyenvan")
    assert passwords.password_problem("aaaaaaaaaaaa") is not None
    assert passwords.password_problem("Mot-mat-khau-dai", "an") is None


# -- the Decision-766 table ---------------------------------------------------------------------------------------
def stats(code: str, total: int, on_time: int, score: str | None, overdue: int = 0) -> dict:
    return {"unit_code": code, "unit_name": f"Đơn vị {code}", "total": total, "progress_766_total": total,
            "on_time_766": on_time, "progress_766_score": score, "progress_766_rate": "0",
            "unfinished_overdue": overdue}


UNITS = {"A": {"kind": "commune"}, "B": {"kind": "commune"}, "C": {"kind": "department"},
         "E": {"kind": "commune"}, "OLD": {"kind": "district", "valid_from": None, "valid_to": "2025-06-30"}}
# an empty unit has no score (the dossiers service sends null where there is nothing to divide)
ROWS = [stats("A", 10, 9, "18.00"), stats("B", 4, 2, "10.00", 1), stats("C", 5, 5, "20.00"), stats("E", 0, 0, None),
        stats("OLD", 0, 0, None)]
DEC = parse_period("2026-12")


def test_the_worst_units_come_first_and_units_without_dossiers_last():
    table = figures.table_rows(ROWS, UNITS, "", "progress_766_score", False, DEC)
    assert [r["unit_code"] for r in table] == ["B", "A", "C", "E"]  # the abolished district is left out
    assert table[0]["points_lost"] == Decimal("10.00") and table[0]["late_766"] == 2
    assert table[-1]["empty"] is True and table[-1]["points_lost"] is None
    by_lost = figures.table_rows(ROWS, UNITS, "", "points_lost", True, DEC)
    assert [r["unit_code"] for r in by_lost] == ["B", "A", "C", "E"]
    communes = figures.table_rows(ROWS, UNITS, "commune", "unit", False, DEC)
    assert [r["unit_code"] for r in communes] == ["A", "B", "E"]


def test_a_column_header_flips_the_current_order_and_starts_others_worst_first():
    headers = figures.sort_headers({"period": "2026-12", "kind": ""}, "progress_766_score", False)
    assert headers["progress_766_score"].query == "period=2026-12&sort=progress_766_score&dir=desc"
    assert headers["progress_766_score"].aria_sort == "ascending"
    assert headers["points_lost"].query.endswith("dir=desc") and headers["points_lost"].aria_sort == ""
    assert headers["unit"].query.endswith("dir=asc")


def test_a_period_in_a_url_must_exist_and_have_begun():
    today = dt.date(2026, 12, 7)
    assert figures.read_period("", today).label == "2026-12"
    assert figures.read_period("2026-h2", today).label == "2026-H2"
    for bad in ("2026-13", "tháng-7", "2027-01"):
        with pytest.raises(PeriodError):
            figures.read_period(bad, today)
    groups = figures.period_groups(today)
    assert [g.title for g in groups] == ["Tháng", "Quý", "6 tháng", "Năm"]
    assert groups[0].options[0][0] == "2026-12" and groups[3].options[-1][0] == "2024"


# -- documents ---------------------------------------------------------------------------------------------------
def test_a_document_belongs_to_its_unit_and_a_ranking_decision_to_everyone():
    commitment = {"kind": "commitment", "key": "H44.44/2026", "sources": {"unit_code": "H44.44"}}
    statistics = {"kind": "statistics", "key": "07900/2026-H2", "sources": {}}
    ranking = {"kind": "ranking", "key": "department-2026", "sources": {}}
    assert document_unit(commitment) == "H44.44" and document_unit(statistics) == "07900"
    assert document_unit(ranking) is None
    scope = UnitScope(principal(Role.UNIT_OFFICER, units=("07900",)), PARENTS | {"H44.44": "P25"})
    assert visible(statistics, scope) and visible(ranking, scope) and not visible(commitment, scope)


def test_versions_are_listed_once_with_their_files_side_by_side():
    versions = [(1, "pdf"), (1, "docx"), (2, "xlsx")]
    files = [{"id": i, "kind": "ranking", "key": "k", "version": v, "format": f, "title": "T",
              "built_at": f"2026-12-0{v}T00:00:00+00:00"} for i, (v, f) in enumerate(versions)]
    groups = group_versions(files)
    assert [(g["version"], [f["format"] for f in g["files"]]) for g in groups] == [(2, ["xlsx"]), (1, ["docx", "pdf"])]


# -- sign-in redirects, settings, static files, chart ------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    ("/chi-so/x?y=1", "/chi-so/x?y=1"), ("//evil.example/x", "/tong-quan"), ("https://evil.example", "/tong-quan"),
    ("/\\evil", "/tong-quan"), ("", "/tong-quan")])
def test_after_sign_in_only_a_path_on_this_site_is_followed(value, expected):
    assert safe_next(value) == expected


def test_settings_name_the_key_that_is_wrong():
    assert load_settings(load_config()).lockout_failures == 5
    with pytest.raises(ValueError, match=r"web\.page_size: not a number"):
        load_settings(load_config(web={"page_size": "many"}))
    with pytest.raises(ValueError, match=r"web\.oidc: enabled, but issuer"):
        load_settings(load_config(web={"oidc": {"enabled": True}}))


def test_vendored_files_match_the_checksums_recorded_beside_them():
    folder = Path(__file__).resolve().parents[2] / "services" / "web" / "static"
    recorded = dict(re.findall(r"^\| (\S+) \| .* \| `([0-9a-f]{64})` \|$", (folder / "VENDOR.md").read_text(), re.M))
    assert set(recorded) == {"htmx.min.js", "pico.min.css"}
    for name, digest in recorded.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_trend_chart_breaks_its_line_where_a_month_has_no_figure_and_escapes_text():
    svg = line_svg(["T1", "T2", "T3", "T4"], [Series("Tỷ lệ <766>", (Decimal("50"), Decimal("60"), None,
                                                                          Decimal("70")))], "Xu hướng & tỷ lệ")
    assert svg.count("<polyline") == 1  # T1–T2 joined; T4 stands alone after the gap
    assert svg.count("<circle") == 3
    assert "Tỷ lệ &lt;766&gt;: 60,00%" in svg and "Xu hướng &amp; tỷ lệ" in svg
