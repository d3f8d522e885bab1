"""Accounts, password sign-in with throttling and lockout, sessions and the audit log, on SQLite and PostgreSQL;
and ``cchc users`` on the same database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from cchc.cli import main as cchc_main
from services.web import accounts, login, sessions
from services.web.accounts import AccountError, AccountInput
from services.web.audit import Origin
from services.web.models import Account, AuditEntry, LoginFailure, WebSession
from services.web.settings import WebSettings

NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
SETTINGS = WebSettings(lockout_failures=5, lockout_minutes=15, ip_failures_per_window=20, ip_window_minutes=15,
                       session_idle_minutes=60, session_hours=12)
HERE = Origin("10.1.2.3", "pytest-browser")
PASSWORD = "Dung-mat-khau-2026"


def make(db, username="canbo", roles=("unit_officer",), units=("07900",), password=PASSWORD):
    with db.transaction() as session:
        return accounts.create(session, username, AccountInput(display_name="Cán Bộ", password=password,
                                                               roles=list(roles), unit_codes=list(units)), NOW,
                               known_units={"07900", "07894", "P25"}).id


def actions(db, username=None):
    with db.transaction() as session:
        query = sa.select(AuditEntry.action).order_by(AuditEntry.id)
        if username:
            query = query.where(AuditEntry.target == username)
        return list(session.scalars(query))


@pytest.mark.parametrize(("username", "data", "field"), [
    ("Bad Name", AccountInput(display_name="A", password=PASSWORD, roles=["leader"]), "username"),
    ("ok.name", AccountInput(display_name=" ", password=PASSWORD, roles=["leader"]), "display_name"),
    ("ok.name", AccountInput(display_name="A", password=PASSWORD, roles=[]), "roles"),
    ("ok.name", AccountInput(display_name="A", password=PASSWORD, roles=["chief"]), "roles"),
    ("ok.name", AccountInput(display_name="A", password=PASSWORD, roles=["unit_officer"]), "unit_codes"),
    ("ok.name", AccountInput(display_name="A", password=PASSWORD, roles=["unit_officer"], unit_codes=["99999"]),
     "unit_codes"),
    ("ok.name", AccountInput(display_name="A", password="short", roles=["leader"]), "password"),
    ("ok.name", AccountInput(display_name="A", password=PASSWORD, roles=["leader"], email="not-an-address"), "email"),
    # the reviewer's names: stored raw (NUL, bidi override) or silently cut to 200 characters before
    ("ok.name", AccountInput(display_name="Nguyễn\x00Văn A", password=PASSWORD, roles=["leader"]), "display_name"),
    ("ok.name", AccountInput(display_name="A\u202eB", password=PASSWORD, roles=["leader"]), "display_name"),
    ("ok.name", AccountInput(display_name="A\u2068B", password=PASSWORD, roles=["leader"]), "display_name"),
    ("ok.name", AccountInput(display_name="A\x1bB", password=PASSWORD, roles=["leader"]), "display_name"),
    ("ok.name", AccountInput(display_name="x" * 100_000, password=PASSWORD, roles=["leader"]), "display_name"),
    ("ok.name", AccountInput(display_name="x" * 201, password=PASSWORD, roles=["leader"]), "display_name"),
    ("\u212aelvin", AccountInput(display_name="A", password=PASSWORD, roles=["leader"]), "username"),  # Kelvin sign
    ("a\x00b.c", AccountInput(display_name="A", password=PASSWORD, roles=["leader"]), "username"),
    ("a" * 100_000, AccountInput(display_name="A", password=PASSWORD, roles=["leader"]), "username"),
])
def test_a_refused_account_names_its_field_and_nothing_is_stored(web_db, username, data, field):
    with pytest.raises(AccountError) as refused, web_db.transaction() as session:
        accounts.create(session, username, data, NOW, known_units={"07900"})
    assert refused.value.field == field and refused.value.reason
    with web_db.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0


def test_a_changed_name_is_checked_as_a_new_one_and_200_characters_are_kept_whole(web_db):
    make(web_db)
    with web_db.transaction() as session:
        account = accounts.get(session, "canbo")
        for bad in ("x" * 201, "Lê\u202eVăn", "Lê\x00"):
            with pytest.raises(AccountError) as refused:
                accounts.update(session, account, AccountInput(display_name=bad), NOW)
            assert refused.value.field == "display_name" and "Họ và tên" in refused.value.reason
        assert accounts.update(session, account, AccountInput(display_name="Đ" * 200), NOW)["display_name"] == "Đ" * 200
    with web_db.transaction() as session:
        assert accounts.get(session, "canbo").display_name == "Đ" * 200


def test_sign_in_opens_a_session_that_ends_when_idle_or_signed_out(web_db):
    make(web_db)
    result = login.password_login(web_db, SETTINGS, "CanBo ", PASSWORD, HERE, NOW)
    assert result.ok and len(result.cookie_value) >= 40
    with web_db.transaction() as session:
        row, account = sessions.load(session, result.cookie_value, SETTINGS, NOW + dt.timedelta(minutes=59))
        assert account.username == "canbo" and row.ip == "10.1.2.3" and len(row.csrf_token) >= 40
        # only the hash of the cookie is stored
        assert session.scalar(sa.select(WebSession.id_hash)) != result.cookie_value
    with web_db.transaction() as session:  # 59 minutes later it was touched, so 60 more are allowed
        assert sessions.load(session, result.cookie_value, SETTINGS, NOW + dt.timedelta(minutes=118)) is not None
    with web_db.transaction() as session:
        assert sessions.load(session, result.cookie_value, SETTINGS, NOW + dt.timedelta(minutes=179)) is None
        assert session.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0
    again = login.password_login(web_db, SETTINGS, "canbo", PASSWORD, HERE, NOW)
    login.logout(web_db, again.cookie_value, "canbo", HERE, NOW)
    with web_db.transaction() as session:
        assert sessions.load(session, again.cookie_value, SETTINGS, NOW) is None
    assert actions(web_db) == ["login", "login", "logout"]


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(web_db):
    make(web_db)
    for attempt in range(5):
        result = login.password_login(web_db, SETTINGS, "canbo", f"wrong-{attempt}", HERE, NOW)
        assert not result.ok and result.error == login.GENERIC_FAILURE
    refused = login.password_login(web_db, SETTINGS, "canbo", PASSWORD, HERE, NOW + dt.timedelta(minutes=1))
    assert not refused.ok and "tạm khóa" in refused.error and refused.retry_after_seconds > 0
    later = login.password_login(web_db, SETTINGS, "canbo", PASSWORD, HERE, NOW + dt.timedelta(minutes=16))
    assert later.ok
    with web_db.transaction() as session:
        account = accounts.get(session, "canbo")
        assert account.failed_logins == 0 and account.locked_until is None
    audit = actions(web_db)
    assert audit.count("login_failed") == 5 and "account_locked" in audit and "login_refused" in audit
    with web_db.transaction() as session:
        entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "login_failed")).first()
        assert (entry.ip, entry.user_agent, entry.actor) == ("10.1.2.3", "pytest-browser", "canbo")


def test_an_address_that_sprays_passwords_is_refused_for_every_account(web_db):
    make(web_db)
    settings = dataclasses.replace(SETTINGS, ip_failures_per_window=6)
    for i in range(6):  # one failure each on six different names: no single account is locked
        assert not login.password_login(web_db, settings, f"guess{i}", "Password123", HERE, NOW).ok
    refused = login.password_login(web_db, settings, "canbo", PASSWORD, HERE, NOW + dt.timedelta(minutes=1))
    assert not refused.ok and "địa chỉ" in refused.error
    elsewhere = login.password_login(web_db, settings, "canbo", PASSWORD, Origin("10.9.9.9", "x"),
                                     NOW + dt.timedelta(minutes=1))
    assert elsewhere.ok
    after_window = login.password_login(web_db, settings, "canbo", PASSWORD, HERE, NOW + dt.timedelta(minutes=16))
    assert after_window.ok
    with web_db.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 6
    with web_db.transaction() as session:  # the addresses are kept a day, for the throttling only
        sessions.purge(session, settings, NOW + dt.timedelta(hours=23))
        assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 6
        sessions.purge(session, settings, NOW + dt.timedelta(hours=25))
        assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0


def test_a_new_password_or_a_disabled_account_ends_open_sessions(web_db):
    make(web_db)
    first = login.password_login(web_db, SETTINGS, "canbo", PASSWORD, HERE, NOW)
    with web_db.transaction() as session:
        changes = accounts.update(session, accounts.get(session, "canbo"), AccountInput(password="Mat-khau-moi-2027"),
                                  NOW)
        assert changes == {"password": "***"}
    with web_db.transaction() as session:
        assert sessions.load(session, first.cookie_value, SETTINGS, NOW) is None
    assert not login.password_login(web_db, SETTINGS, "canbo", PASSWORD, HERE, NOW).ok
    second = login.password_login(web_db, SETTINGS, "canbo", "Mat-khau-moi-2027", HERE, NOW)
    with web_db.transaction() as session:
        accounts.update(session, accounts.get(session, "canbo"), AccountInput(disabled=True), NOW)
    with web_db.transaction() as session:
        assert sessions.load(session, second.cookie_value, SETTINGS, NOW) is None
    assert login.password_login(web_db, SETTINGS, "canbo", "Mat-khau-moi-2027", HERE, NOW).error == \
        login.GENERIC_FAILURE


def test_cchc_users_add_roles_disable_and_list(web_config, monkeypatch, capsys, tmp_path):
    url, schema = web_config["DATABASE_URL"], web_config.get("DATABASE_SCHEMA", "<service>")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATABASE_SCHEMA", schema)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert cchc_main(["users", "add", "sonoivu", "--name", "Sở Nội vụ", "--role", "province_admin",
                      "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cchc_main(["users", "add", "yeu", "--name", "Yếu", "--role", "leader", "--password-stdin"]) == 2
    assert "password: Mật khẩu cần ít nhất 10 ký tự." in capsys.readouterr().err
    assert cchc_main(["users", "add", "canbo", "--name", "Cán bộ", "--role", "unit_officer", "--unit", "07900,07894",
                      "--sso-only"]) == 0
    assert cchc_main(["users", "roles", "canbo", "--set", "unit_officer,leader", "--units", "07900"]) == 0
    assert cchc_main(["users", "roles", "canbo", "--units", "NOPE"]) == 2
    assert cchc_main(["users", "disable", "canbo"]) == 0
    assert cchc_main(["users", "disable", "nobody"]) == 2
    assert cchc_main(["users", "add", "ten", "--name", "Tên\u202e", "--role", "leader", "--sso-only"]) == 2
    assert "refused: display_name: Họ và tên: Có ký tự điều khiển" in capsys.readouterr().err
    # like the form, a name is required (argparse's refusal: exit status 2, one line naming the option)
    assert cchc_main(["users", "add", "khongten", "--role", "leader", "--sso-only"]) == 2
    assert "--name" in capsys.readouterr().err
    capsys.readouterr()
    assert cchc_main(["users", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == ["canbo\tCán bộ\tunit_officer,leader\t07900\tdisabled",
                      "sonoivu\tSở Nội vụ\tprovince_admin\t\tactive"]
    from shared.config import load_config
    from shared.db import open_database
    db = open_database(load_config(DATABASE_URL=url, DATABASE_SCHEMA=schema), "web")
    try:
        assert login.password_login(db, SETTINGS, "sonoivu", PASSWORD, HERE, dt.datetime.now(dt.UTC)).ok
        assert actions(db, "canbo") == ["account_created", "account_updated", "account_disabled"]
        with db.transaction() as session:
            assert session.scalar(sa.select(AuditEntry.actor).where(AuditEntry.target == "canbo")).startswith("cli")
    finally:
        db.engine.dispose()


def test_demo_accounts_one_per_role_sign_in_with_the_printed_passwords(web_config, web_db):
    from services.web.demo import create_demo_accounts

    first = create_demo_accounts(web_config, ["07900"])
    assert sorted(a.role.value for a in first) == ["appraiser", "leader", "province_admin", "unit_officer"]
    officer = next(a for a in first if a.role.value == "unit_officer")
    assert officer.unit_codes == ("07900",)
    again = create_demo_accounts(web_config, ["07900"])  # a second demo run resets them
    for old, new in zip(first, again, strict=True):
        assert not login.password_login(web_db, SETTINGS, old.username, old.password, HERE, NOW).ok
        assert login.password_login(web_db, SETTINGS, new.username, new.password, HERE, NOW).ok
