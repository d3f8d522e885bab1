"""Quản trị: accounts with their roles and unit scopes, and the audit log (province administrators only).

A refused field comes back as the form again, the field marked (``aria-invalid``) with the reason beside it;
nothing is saved until every field is acceptable.
"""

from __future__ import annotations

from typing import Any

from services.web import accounts, audit
from services.web.access import ROLE_TITLES, Permission, Role
from services.web.accounts import AccountError, AccountInput, AccountNotFound
from services.web.audit import ACTION_TITLES
from services.web.context import Page, PageNotFound, Redirect, RequestContext, page_offset


def _admin(ctx: RequestContext) -> None:
    ctx.user.require(Permission.MANAGE_ACCOUNTS)


def _unit_names(ctx: RequestContext) -> dict[str, str]:
    return {u["code"]: u["name"] for u in ctx.directory.units(ctx.backends)}


def account_list(ctx: RequestContext) -> Page:
    _admin(ctx)
    with ctx.db.transaction() as session:
        rows = [_view(a, ctx) for a in accounts.all_accounts(session)]
    return Page("accounts.html", {"title": "Quản trị tài khoản", "section": "admin", "accounts": rows,
                                  "role_titles": ROLE_TITLES, "unit_names": _unit_names(ctx),
                                  "message": ctx.arg("tb")})


def _view(account: Any, ctx: RequestContext) -> dict[str, Any]:
    locked = account.locked_until is not None and account.locked_until > ctx.now
    return {"username": account.username, "display_name": account.display_name, "email": account.email,
            "roles": list(account.roles or []), "unit_codes": list(account.unit_codes or []),
            "disabled": account.disabled, "locked": locked, "sso": bool(account.oidc_subject),
            "has_password": bool(account.password_hash), "last_login_at": account.last_login_at}


def _form_page(ctx: RequestContext, form: dict[str, Any], errors: dict[str, str], new: bool,
               status: int = 200) -> Page:
    units = [u for u in ctx.directory.units(ctx.backends) if not u.get("valid_to")]
    return Page("account_form.html", {"title": "Thêm tài khoản" if new else f"Tài khoản {form['username']}",
                                      "section": "admin", "form": form, "errors": errors, "new": new,
                                      "roles": [(r.value, ROLE_TITLES[r]) for r in Role], "units": units},
                status=status)


def new_form(ctx: RequestContext) -> Page:
    _admin(ctx)
    return _form_page(ctx, {"username": "", "display_name": "", "email": "", "roles": [], "unit_codes": []}, {}, True)


def _submitted(ctx: RequestContext) -> dict[str, Any]:
    f = ctx.request.form
    return {"username": (f.get("username") or "").strip(), "display_name": (f.get("display_name") or "").strip(),
            "email": (f.get("email") or "").strip(), "password": f.get("password") or "",
            "roles": f.getlist("roles"), "unit_codes": [c for c in f.getlist("unit_codes") if c],
            "disabled": f.get("disabled") == "on", "unlock": f.get("unlock") == "on"}


def create(ctx: RequestContext) -> Page | Redirect:
    _admin(ctx)
    form = _submitted(ctx)
    known = set(_unit_names(ctx))
    data = AccountInput(display_name=form["display_name"], email=form["email"], password=form["password"],
                        roles=form["roles"], unit_codes=form["unit_codes"], disabled=form["disabled"])
    try:
        with ctx.db.transaction() as session:
            account = accounts.create(session, form["username"], data, ctx.now, known, require_password=False)
            audit.record(session, ctx.user.username, "account_created", ctx.now, ctx.origin, target=account.username,
                         detail={"roles": account.roles, "unit_codes": account.unit_codes,
                                 "password": bool(form["password"])})
    except AccountError as exc:
        form["password"] = ""
        return _form_page(ctx, form, {exc.field: exc.reason}, True, status=422)
    return Redirect(ctx.url("/quan-tri", tb=f"Đã tạo tài khoản {account.username}."))


def edit_form(ctx: RequestContext, username: str) -> Page:
    _admin(ctx)
    with ctx.db.transaction() as session:
        try:
            view = _view(accounts.get(session, username), ctx)
        except AccountNotFound:
            raise PageNotFound(f"Không có tài khoản “{username}”.") from None
    return _form_page(ctx, view, {}, False)


def update(ctx: RequestContext, username: str) -> Page | Redirect:
    _admin(ctx)
    form = _submitted(ctx)
    form["username"] = username
    data = AccountInput(display_name=form["display_name"], email=form["email"], password=form["password"] or None,
                        roles=form["roles"], unit_codes=form["unit_codes"], disabled=form["disabled"])
    if username == ctx.user.username and (form["disabled"] or Role.PROVINCE_ADMIN.value not in form["roles"]):
        form["password"] = ""
        return _form_page(ctx, form, {"roles": "Không thể tự bỏ quyền quản trị hoặc tự vô hiệu hóa tài khoản "
                                               "của mình."}, False, status=422)
    try:
        with ctx.db.transaction() as session:
            try:
                account = accounts.get(session, username)
            except AccountNotFound:
                raise PageNotFound(f"Không có tài khoản “{username}”.") from None
            changes = accounts.update(session, account, data, ctx.now, set(_unit_names(ctx)))
            if form["unlock"] and accounts.unlock(account, ctx.now):
                audit.record(session, ctx.user.username, "account_unlocked", ctx.now, ctx.origin, target=username)
            if changes:
                action = ("account_disabled" if changes.get("disabled") is True else
                          "account_enabled" if changes.get("disabled") is False else "account_updated")
                audit.record(session, ctx.user.username, action, ctx.now, ctx.origin, target=username,
                             detail=changes)
    except AccountError as exc:
        form["password"] = ""
        return _form_page(ctx, form, {exc.field: exc.reason}, False, status=422)
    return Redirect(ctx.url("/quan-tri", tb=f"Đã lưu tài khoản {username}."))


def audit_log(ctx: RequestContext) -> Page:
    _admin(ctx)
    offset, limit = page_offset(ctx), ctx.settings.page_size
    actor = ctx.arg("actor") or None
    with ctx.db.transaction() as session:
        entries, total = audit.entries(session, limit, offset, actor)
        rows = [{"at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail,
                 "ip": e.ip, "user_agent": e.user_agent} for e in entries]
    return Page("audit.html", {"title": "Nhật ký thao tác", "section": "admin", "rows": rows, "total": total,
                               "offset": offset, "limit": limit, "actor": actor or "", "titles": ACTION_TITLES})
