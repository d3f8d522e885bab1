"""The web application (gateway): server-rendered pages over RPC to the other services; it owns only accounts,
sessions and the audit log. Entrypoints are one line each: ``_serve`` signs the request in, checks CSRF on
every POST, runs the page handler (services/web/pages/) and maps what it raises to a Vietnamese page."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from services.web import sessions
from services.web.access import Forbidden, Permission, Principal, Role
from services.web.audit import Origin
from services.web.backends import Backends, NotFound, Unavailable
from services.web.context import Page, PageNotFound, Redirect, RequestContext
from services.web.directory import DirectoryProvider
from services.web.oidc import OidcClient
from services.web.pages import accounts_admin, auth, documents, index766, notices, overview, public, scores, season
from services.web.rendering import StaticFiles, environment, html_response
from services.web.settings import WebSettings, load_settings
from shared import ops
from shared.clock import utcnow
from shared.db import DatabaseProvider
from shared.inputs import echo_safe
from shared.ops import http
from shared.timers import configured_timer

log = logging.getLogger(__name__)

NAV = (("overview", "/tong-quan", "Tổng quan", None), ("index766", "/chi-so-766", "Chỉ số 766", None),
       ("scores", "/chi-so", "Chỉ số CCHC", None),
       ("documents", "/van-ban", "Văn bản", None), ("notices", "/thong-bao", "Thông báo", None),
       ("admin", "/quan-tri", "Quản trị", Permission.MANAGE_ACCOUNTS))


class Web:
    """What every request shares: settings, templates, static files, the SSO client (built once)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.settings: WebSettings = load_settings(config)
        self.static = StaticFiles()
        self.templates = environment(self.static)
        self.oidc = OidcClient(self.settings.oidc) if self.settings.oidc.enabled else None


    def http_error_page(self, exc: HTTPException) -> Response:
        """What Werkzeug raises before any page runs (a method no route takes, …) as the Vietnamese error page,
        with its status and, for a 405, the methods the address does take (``Allow``)."""
        status = exc.code or 500
        if status == 405:
            title, message = ("Thao tác không được hỗ trợ",
                              "Địa chỉ này không nhận yêu cầu kiểu này. Hãy mở trang từ trình đơn của hệ thống.")
        else:
            title, message = HTTP_ERRORS_VI.get(status, ("Yêu cầu không hợp lệ",
                                                         "Hệ thống không xử lý được yêu cầu này."))
        html = self.templates.get_template("error.html").render(
            user=None, nav=[], province_name=f"tỉnh {self.settings.province_name or 'Phú Thọ'}",
            province_short=self.settings.province_name or "Phú Thọ", title=title, message=message, detail="",
            section="")
        headers = {"Allow": ", ".join(exc.valid_methods)} if isinstance(exc, MethodNotAllowed) and \
            exc.valid_methods else None
        return html_response(html, status, headers)


HTTP_ERRORS_VI = {
    400: ("Yêu cầu không hợp lệ", "Hệ thống không hiểu yêu cầu này."),
    404: ("Không tìm thấy trang", "Địa chỉ này không có nội dung."),
    413: ("Dữ liệu gửi lên quá lớn", "Nội dung gửi lên vượt giới hạn cho phép."),
    414: ("Địa chỉ quá dài", "Địa chỉ trang vượt giới hạn cho phép."),
}


class WebProvider(DependencyProvider):
    def setup(self) -> None:
        self.web = Web(self.container.config)
        for extension in self.container.extensions:  # the container's one listener (shared.ops.WebServer)
            if isinstance(extension, ops.WebServer):
                extension.error_page = self.web.http_error_page

    def get_dependency(self, worker_ctx: Any) -> Web:
        return self.web


class WebService(ops.OpsEndpoints):
    name = "web"

    config = Config()
    db = DatabaseProvider()
    web = WebProvider()
    directory = DirectoryProvider()
    dossiers = RpcProxy("dossiers")
    scoring = RpcProxy("scoring")
    reports = RpcProxy("reports")
    notifications = RpcProxy("notifications")

    # -- signing in and out -----------------------------------------------------------------------------
    @http("GET", "/")
    def home(self, request: Request) -> Response:
        return self._serve(request, auth.home, public=True)

    @http("GET", "/dang-nhap")
    def login_form(self, request: Request) -> Response:
        return self._serve(request, auth.login_form, public=True)

    @http("POST", "/dang-nhap")
    def login(self, request: Request) -> Response:
        return self._serve(request, auth.login, public=True)

    @http("POST", "/dang-xuat")
    def logout(self, request: Request) -> Response:
        return self._serve(request, auth.logout)

    @http("GET", "/dang-nhap/sso")
    def sso_begin(self, request: Request) -> Response:
        return self._serve(request, auth.sso_begin, public=True)

    @http("GET", "/dang-nhap/sso/callback")
    def sso_callback(self, request: Request) -> Response:
        return self._serve(request, auth.sso_callback, public=True)

    # -- Tổng quan ------------------------------------------------------------------------------------------
    @http("GET", "/tong-quan")
    def overview(self, request: Request) -> Response:
        return self._serve(request, overview.overview)

    @http("GET", "/tong-quan/don-vi/<unit_code>")
    def unit(self, request: Request, unit_code: str) -> Response:
        return self._serve(request, overview.unit_page, unit_code)

    @http("GET", "/tong-quan/don-vi/<unit_code>/ho-so")
    def unit_dossiers(self, request: Request, unit_code: str) -> Response:
        return self._serve(request, overview.unit_dossiers, unit_code)

    # -- Chỉ số 766 (services/web/pages/index766.py) ---------------------------------------------------------
    @http("GET", "/chi-so-766")
    def index766_ranking(self, request: Request) -> Response:
        return self._serve(request, index766.ranking)

    @http("GET", "/chi-so-766/don-vi/<unit_code>")
    def index766_unit(self, request: Request, unit_code: str) -> Response:
        return self._serve(request, index766.unit_page, unit_code)

    @http("GET", "/chi-so-766/don-vi/<unit_code>/bang-tinh")
    def index766_workbook(self, request: Request, unit_code: str) -> Response:
        return self._serve(request, index766.unit_workbook, unit_code)

    # -- Chỉ số CCHC ----------------------------------------------------------------------------------------
    @http("GET", "/chi-so")
    def scores_home(self, request: Request) -> Response:
        return self._serve(request, scores.sets)

    @http("GET", "/chi-so/<set_id>")
    def ranking(self, request: Request, set_id: str) -> Response:
        return self._serve(request, scores.ranking, set_id)

    @http("GET", "/chi-so/<set_id>/don-vi/<unit_code>")
    def sheet(self, request: Request, set_id: str, unit_code: str) -> Response:
        return self._serve(request, scores.sheet, set_id, unit_code)

    @http("POST", "/chi-so/<set_id>/don-vi/<unit_code>/tham-dinh")
    def appraise(self, request: Request, set_id: str, unit_code: str) -> Response:
        return self._serve(request, scores.appraise, set_id, unit_code)

    # -- Kỳ đánh giá (services/web/pages/season.py) ----------------------------------------------------------------
    @http("GET", "/chi-so/<set_id>/tam-tinh")
    def provisional_ranking(self, request: Request, set_id: str) -> Response:
        return self._serve(request, season.provisional, set_id)

    @http("GET", "/chi-so/<set_id>/danh-gia")
    def season_progress(self, request: Request, set_id: str) -> Response:
        return self._serve(request, season.progress, set_id)

    @http("POST", "/chi-so/<set_id>/danh-gia/han-giai-trinh")
    def season_deadline(self, request: Request, set_id: str) -> Response:
        return self._serve(request, season.set_deadline, set_id)

    @http("POST", "/chi-so/<set_id>/danh-gia/cong-bo")
    def season_publish(self, request: Request, set_id: str) -> Response:
        return self._serve(request, season.publish, set_id)

    @http("GET", "/chi-so/<set_id>/danh-gia/<unit_code>")
    def season_sheet(self, request: Request, set_id: str, unit_code: str) -> Response:
        return self._serve(request, season.sheet, set_id, unit_code)

    @http("POST", "/chi-so/<set_id>/danh-gia/<unit_code>/tieu-chi/<leaf_id>")
    def season_save(self, request: Request, set_id: str, unit_code: str, leaf_id: str) -> Response:
        return self._serve(request, season.save_leaf, set_id, unit_code, leaf_id)

    @http("POST", "/chi-so/<set_id>/danh-gia/<unit_code>/gui")
    def season_submit(self, request: Request, set_id: str, unit_code: str) -> Response:
        return self._serve(request, season.submit, set_id, unit_code)

    @http("POST", "/chi-so/<set_id>/danh-gia/<unit_code>/tham-dinh/<leaf_id>")
    def season_appraise(self, request: Request, set_id: str, unit_code: str, leaf_id: str) -> Response:
        return self._serve(request, season.appraise, set_id, unit_code, leaf_id)

    @http("POST", "/chi-so/<set_id>/danh-gia/<unit_code>/giai-trinh/<leaf_id>")
    def season_answer(self, request: Request, set_id: str, unit_code: str, leaf_id: str) -> Response:
        return self._serve(request, season.answer, set_id, unit_code, leaf_id)

    @http("POST", "/chi-so/<set_id>/danh-gia/<unit_code>/khoa")
    def season_lock(self, request: Request, set_id: str, unit_code: str) -> Response:
        return self._serve(request, season.lock, set_id, unit_code)

    @http("GET", "/chi-so/<set_id>/danh-gia/<unit_code>/tep/<file_id>")
    def season_evidence(self, request: Request, set_id: str, unit_code: str, file_id: str) -> Response:
        return self._serve(request, season.evidence, set_id, unit_code, file_id)

    # -- Văn bản --------------------------------------------------------------------------------------------
    @http("GET", "/van-ban")
    def documents(self, request: Request) -> Response:
        return self._serve(request, documents.library)

    @http("GET", "/van-ban/<document_id>/tai-ve")
    def download(self, request: Request, document_id: str) -> Response:
        return self._serve(request, documents.download, document_id)

    @http("POST", "/van-ban/tao")
    def build_document(self, request: Request) -> Response:
        return self._serve(request, documents.build)

    # -- Thông báo ------------------------------------------------------------------------------------------
    @http("GET", "/thong-bao")
    def notices(self, request: Request) -> Response:
        return self._serve(request, notices.log)

    @http("POST", "/thong-bao/<notification_id>/gui-lai")
    def resend(self, request: Request, notification_id: str) -> Response:
        return self._serve(request, notices.resend, notification_id)

    @http("POST", "/thong-bao/gui-lai-tat-ca")
    def resend_failed(self, request: Request) -> Response:
        return self._serve(request, notices.resend_failed)

    # -- Quản trị -------------------------------------------------------------------------------------------
    @http("GET", "/quan-tri")
    def admin(self, request: Request) -> Response:
        return self._serve(request, accounts_admin.account_list)

    @http("GET", "/quan-tri/tai-khoan/moi")
    def account_new(self, request: Request) -> Response:
        return self._serve(request, accounts_admin.new_form)

    @http("POST", "/quan-tri/tai-khoan/moi")
    def account_create(self, request: Request) -> Response:
        return self._serve(request, accounts_admin.create)

    @http("GET", "/quan-tri/tai-khoan/<username>")
    def account_edit(self, request: Request, username: str) -> Response:
        return self._serve(request, accounts_admin.edit_form, username)

    @http("POST", "/quan-tri/tai-khoan/<username>")
    def account_update(self, request: Request, username: str) -> Response:
        return self._serve(request, accounts_admin.update, username)

    @http("GET", "/quan-tri/nhat-ky")
    def audit_log(self, request: Request) -> Response:
        return self._serve(request, accounts_admin.audit_log)

    # -- public, static, unknown -----------------------------------------------------------------------------
    @http("GET", "/cong-khai")
    def public(self, request: Request) -> Response:
        return self._serve(request, public.figures_page, public=True)

    @http("GET", "/static/<name>")
    def static(self, request: Request, name: str) -> Response:
        found = self.web.static.response(name)
        return found if found is not None else self._error(None, 404, "Không tìm thấy tệp.", "")

    @http("GET", "/<path:anything>")
    def unknown(self, request: Request, anything: str) -> Response:
        return self._serve(request, auth.unknown_page, anything, public=True)

    @configured_timer("web", "session_purge_interval_seconds")
    def purge_sessions(self) -> None:
        with self.db.transaction() as session:
            sessions.purge(session, self.web.settings, utcnow())

    # -- the one path every page takes ------------------------------------------------------------------------
    def _serve(self, request: Request, handler: Any, *args: Any, public: bool = False) -> Response:
        started = time.perf_counter()
        settings = self.web.settings
        ctx = RequestContext(
            request=request, settings=settings, db=self.db, directory=self.directory, now=utcnow(),
            backends=Backends({"dossiers": self.dossiers, "scoring": self.scoring, "reports": self.reports,
                               "notifications": self.notifications}, settings.rpc_timeout_seconds),
            origin=Origin(_client_ip(request, settings), request.headers.get("User-Agent", "")[:300]),
            oidc=self.web.oidc)
        try:
            ctx.session_cookie = request.cookies.get(sessions.COOKIE)
            ctx.principal = self._principal(ctx)
            if ctx.principal is None and not public:
                return self._to_login(request)
            if request.method == "POST" and ctx.principal is not None and not _csrf_ok(request, ctx.principal):
                auth.refuse_csrf(ctx)
                return self._error(ctx, 403, "Biểu mẫu không hợp lệ",
                                   "Biểu mẫu thiếu mã xác thực (CSRF) hoặc đã hết hạn. Vui lòng tải lại trang "
                                   "và thử lại.")
            result = handler(ctx, *args)
            response = self._respond(ctx, result)
        except Forbidden:
            response = self._error(ctx, 403, "Không có quyền truy cập",
                                   "Tài khoản của bạn không được xem nội dung này. Nếu cần, hãy liên hệ Sở Nội vụ.")
        except (PageNotFound, NotFound) as exc:
            detail = str(exc) if isinstance(exc, PageNotFound) else ""
            response = self._error(ctx, 404, "Không tìm thấy trang", "Địa chỉ này không có nội dung.", detail)
        except Unavailable as exc:
            log.warning("backend %s did not answer within %.1f s (%s)", exc.service, settings.rpc_timeout_seconds,
                        request.path)
            response = self._error(ctx, 503, "Hệ thống đang tạm gián đoạn",
                                   "Một dịch vụ của hệ thống chưa phản hồi. Vui lòng thử lại sau ít phút.",
                                   retry_after=30)
        except Exception:
            log.exception("page %s failed", request.path)
            response = self._error(ctx, 500, "Đã có lỗi xảy ra",
                                   "Hệ thống gặp lỗi khi hiển thị trang này. Lỗi đã được ghi lại để kiểm tra.")
        total_ms = (time.perf_counter() - started) * 1000
        rpc_ms = ctx.backends.clock.seconds * 1000
        response.headers["Server-Timing"] = (f"rpc;dur={rpc_ms:.1f};desc=\"{ctx.backends.clock.calls} calls\", "
                                             f"total;dur={total_ms:.1f}")
        return response

    def _principal(self, ctx: RequestContext) -> Principal | None:
        if not ctx.session_cookie:
            return None
        with self.db.transaction() as session:
            found = sessions.load(session, ctx.session_cookie, ctx.settings, ctx.now)
            if found is None:
                return None
            row, account = found
            roles = frozenset(Role(r) for r in account.roles or [] if r in Role._value2member_map_)
            return Principal(account.id, account.username, account.display_name, roles,
                             tuple(account.unit_codes or []), row.csrf_token)

    def _to_login(self, request: Request) -> Response:
        target = request.full_path.rstrip("?") if request.method == "GET" else "/tong-quan"
        response = Response(status=303, headers={"Location": f"/dang-nhap?next={quote(target, safe='')}"})
        if request.headers.get("HX-Request") == "true":  # htmx follows redirects into the target: reload instead
            response.headers["HX-Redirect"] = f"/dang-nhap?next={quote(target, safe='')}"
        return response

    def _respond(self, ctx: RequestContext, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        if isinstance(result, Redirect):
            response = Response(status=result.status, headers={"Location": result.location})
            if ctx.is_htmx:
                response.headers["HX-Redirect"] = result.location
            for name, value, options in result.cookies:
                response.set_cookie(name, value, **options)
            return response
        assert isinstance(result, Page)
        return html_response(self._render(ctx, result.template, result.values), result.status, result.headers)

    def _render(self, ctx: RequestContext | None, template: str, values: dict[str, Any]) -> str:
        user = ctx.principal if ctx is not None else None
        nav = [{"key": key, "href": href, "title": title} for key, href, title, need in NAV
               if user is not None and (need is None or user.can(need))]
        province = self.web.settings.province_name or "Phú Thọ"
        return self.web.templates.get_template(template).render(
            user=user, nav=nav, province_name=f"tỉnh {province}", province_short=province, **values)

    def _error(self, ctx: RequestContext | None, status: int, title: str, message: str, detail: str = "",
               retry_after: int | None = None) -> Response:
        # the detail may echo the URL (a leaf id with %00 in it): no control or bidi character goes back raw
        values = {"title": title, "message": message, "detail": echo_safe(detail, 300), "section": ""}
        try:
            html = self._render(ctx, "error.html", values)
        except Exception:  # the error page must not fail in turn
            log.exception("error page failed")
            html = f"<!doctype html><html lang='vi'><meta charset='utf-8'><title>{title}</title><h1>{title}</h1>"
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return html_response(html, status, headers)


def _csrf_ok(request: Request, principal: Principal) -> bool:
    given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    return sessions.csrf_matches(principal.csrf_token, given)


def _client_ip(request: Request, settings: WebSettings) -> str:
    """The browser's address: behind the ingress controller (``trust_forwarded_for``) the last X-Forwarded-For hop
    it appended, else the peer. Never trusted by default: a browser could otherwise dodge the throttling."""
    if settings.trust_forwarded_for:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        if hops:
            return hops[-1][:64]
    return (request.remote_addr or "-")[:64]
