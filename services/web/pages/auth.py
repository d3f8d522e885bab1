"""Signing in (password or single sign-on), signing out, the home redirect and the unknown-URL page.

The sign-in form is protected against login CSRF by a random value in a short-lived cookie that the form sends
back (double submit): there is no session yet to hold a token.
"""

from __future__ import annotations

import secrets
from typing import Any

from services.web import audit, sessions
from services.web import login as signin
from services.web.context import Page, PageNotFound, Redirect, RequestContext
from services.web.models import Account
from services.web.oidc import SsoError, account_for

LOGIN_CSRF_COOKIE = "cchc_login_csrf"
SSO_STATE_COOKIE = "cchc_sso_state"


def cookie_options(ctx: RequestContext, max_age: int | None = None) -> dict[str, Any]:
    return {"httponly": True, "secure": ctx.settings.cookie_secure, "samesite": "Lax", "path": "/",
            "max_age": max_age}


def safe_next(value: str) -> str:
    """Only a path on this site (``/…`` but not ``//host``): a sign-in must never redirect elsewhere."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value and "\n" not in value:
        return value[:500]
    return "/tong-quan"


def home(ctx: RequestContext) -> Redirect:
    return Redirect("/tong-quan" if ctx.principal else "/dang-nhap")


def _form(ctx: RequestContext, error: str = "", username: str = "", status: int = 200) -> Page:
    token = secrets.token_urlsafe(24)
    page = Page("login.html", {
        "title": "Đăng nhập", "section": "", "error": error, "username": username, "login_csrf": token,
        "next": safe_next(ctx.arg("next") or ctx.request.form.get("next", "")),
        "sso_label": ctx.settings.oidc.button_label if ctx.settings.oidc.enabled else "",
        "public_page": ctx.settings.public_page}, status=status)
    page.headers["Set-Cookie"] = _cookie_header(ctx, LOGIN_CSRF_COOKIE, token, 1800)
    return page


def _cookie_header(ctx: RequestContext, name: str, value: str, max_age: int) -> str:
    from werkzeug.http import dump_cookie

    return dump_cookie(name, value, **cookie_options(ctx, max_age))


def login_form(ctx: RequestContext) -> Page | Redirect:
    if ctx.principal is not None:
        return Redirect(safe_next(ctx.arg("next")))
    return _form(ctx)


def login(ctx: RequestContext) -> Page | Redirect:
    form = ctx.request.form
    expected = ctx.request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not sessions.csrf_matches(expected, form.get("csrf_token")):
        refuse_csrf(ctx)
        return _form(ctx, "Biểu mẫu đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.", status=403)
    username = (form.get("username") or "").strip()
    result = signin.password_login(ctx.db, ctx.settings, username, form.get("password") or "", ctx.origin, ctx.now)
    if not result.ok:
        page = _form(ctx, result.error, username, status=429 if result.retry_after_seconds else 401)
        if result.retry_after_seconds:
            page.headers["Retry-After"] = str(result.retry_after_seconds)
        return page
    assert result.cookie_value is not None
    return _signed_in(ctx, result.cookie_value, safe_next(form.get("next", "")))


def _signed_in(ctx: RequestContext, cookie_value: str, target: str) -> Redirect:
    redirect = Redirect(target)
    redirect.cookies.append((sessions.COOKIE, cookie_value, cookie_options(ctx)))
    redirect.cookies.append((LOGIN_CSRF_COOKIE, "", cookie_options(ctx, 0)))
    return redirect


def logout(ctx: RequestContext) -> Redirect:
    signin.logout(ctx.db, ctx.session_cookie, ctx.user.username, ctx.origin, ctx.now)
    redirect = Redirect("/dang-nhap")
    redirect.cookies.append((sessions.COOKIE, "", cookie_options(ctx, 0)))
    return redirect


def sso_begin(ctx: RequestContext) -> Page | Redirect:
    web_oidc = _client(ctx)
    try:
        with ctx.db.transaction() as session:
            url = web_oidc.begin(session, safe_next(ctx.arg("next")), ctx.now)
    except SsoError as exc:
        return _form(ctx, str(exc), status=502)
    state = url.split("state=", 1)[1].split("&", 1)[0]
    redirect = Redirect(url, status=302)
    redirect.cookies.append((SSO_STATE_COOKIE, state, cookie_options(ctx, 900)))
    return redirect


def sso_callback(ctx: RequestContext) -> Page | Redirect:
    web_oidc = _client(ctx)
    params = {k: v for k, v in ctx.request.args.items()}
    if params.get("state", "") != ctx.request.cookies.get(SSO_STATE_COOKIE, ""):
        # the answer must come back to the browser that asked (no login CSRF through a forged redirect)
        return _form(ctx, "Phiên đăng nhập một lần không khớp trình duyệt này. Vui lòng thử lại.", status=400)
    try:
        with ctx.db.transaction() as session:
            identity, target = web_oidc.finish(session, params, ctx.now)
        with ctx.db.transaction() as session:
            account, linked = account_for(session, identity)
            opened = _open(ctx, session, account, linked, identity.subject)
    except SsoError as exc:
        with ctx.db.transaction() as session:
            audit.record(session, "-", "login_failed", ctx.now, ctx.origin, detail={"method": "oidc",
                                                                                    "reason": str(exc)[:200]})
        return _form(ctx, str(exc), status=403)
    redirect = _signed_in(ctx, opened, safe_next(target))
    redirect.cookies.append((SSO_STATE_COOKIE, "", cookie_options(ctx, 0)))
    return redirect


def _open(ctx: RequestContext, session: Any, account: Account, linked: bool, subject: str) -> str:
    account.failed_logins, account.locked_until, account.last_login_at = 0, None, ctx.now
    if linked:
        audit.record(session, account.username, "oidc_linked", ctx.now, ctx.origin, target=account.username,
                     detail={"subject": subject})
    opened = sessions.open_session(session, account, ctx.settings, ctx.now, ctx.origin, method="oidc")
    audit.record(session, account.username, "login", ctx.now, ctx.origin, detail={"method": "oidc"})
    return opened.cookie_value


def _client(ctx: RequestContext) -> Any:
    if ctx.oidc is None:
        raise PageNotFound("Đăng nhập một lần chưa được bật cho tỉnh này.")
    return ctx.oidc


def refuse_csrf(ctx: RequestContext) -> None:
    with ctx.db.transaction() as session:
        audit.record(session, ctx.principal.username if ctx.principal else "-", "csrf_refused", ctx.now, ctx.origin,
                     target=ctx.request.path)


def unknown_page(ctx: RequestContext, path: str) -> Page:
    raise PageNotFound("")
