"""The HTTP surface of local mode (docs/local-mode.md), on the standard library's threaded server.

| GET  /                                 the web form (web/), with a generated config.json |
| POST /register                         the registration handler (API Gateway proxy event) |
| GET  /simulator                        the phone simulator page                           |
| GET  /simulator/api/messages?phoneNumber=+1...   (without it: every phone's messages)     |
| POST /simulator/api/inbound            {"originationNumber", "messageBody"}                |
| GET  /simulator/api/subscribers/{phoneNumber}                                              |
| GET  /simulator/api/phones             (local extra) every number with a conversation     |
| /admin/...                             the operator API (docs/operator.md), no auth       |
| POST /admin/housekeeping               (local only) one housekeeping run, now             |

Only requests naming this server's own loopback address and port in ``Host`` are answered
(a web page cannot reach it through DNS rebinding), and the simulator API and the
operator API's POSTs take JSON only (a cross-site form cannot post a reply or an opt-out:
browsers send it as text/plain without asking; a DELETE needs a preflight nobody answers).
"""

from __future__ import annotations

import json
import mimetypes
import re
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from local.service import LocalService
from local.simulator import Printer
from optin.domain.errors import (
    BODY_TOO_LARGE,
    NOT_JSON_MEDIA_TYPE,
    AdminErrorCode,
    ErrorCode,
    GatewayAnswer,
)

ROOT = Path(__file__).resolve().parent.parent
WEB_ROOT = ROOT / "web"
SIMULATOR_ROOT = Path(__file__).resolve().parent / "static"

# The site's headers in production (infra/site.py, a CloudFront response headers policy),
# less upgrade-insecure-requests: local mode is plain http on the loopback interface.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}
MAX_BODY_BYTES = 64 * 1024  # past API Gateway's own limit would be pointless locally
MAX_SMS_BODY = 1600
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_LOOPBACK_HOST = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$")


def phone_parameter(raw: str) -> str | None:
    """An E.164 number from a URL, forgiving the ``+`` a query string turns into a space."""
    text = unquote(raw).strip()
    if text and not text.startswith("+") and text.isdigit():
        text = "+" + text
    return text if _E164.match(text) else None


def resolve_static(root: Path, url_path: str) -> Path | None:
    """The file under ``root`` that ``url_path`` names, or None: no traversal, no dotfiles."""
    relative = unquote(url_path).lstrip("/")
    if not relative or relative.endswith("/"):
        relative += "index.html"
    parts = relative.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") or "\\" in part for part in parts):
        return None
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    if candidate.suffix not in STATIC_TYPES:
        return None
    return candidate


class LocalHandler(BaseHTTPRequestHandler):
    server_version = "optin-local"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    server: LocalServer

    @property
    def service(self) -> LocalService:
        return self.server.service

    def console(self, line: str) -> None:
        self.server.console(line)

    # Routing ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_TRACE(self) -> None:
        self._dispatch("TRACE")

    def do_CONNECT(self) -> None:
        self._dispatch("CONNECT")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path
        try:
            if not self._own_host():
                self.close_connection = True
                self._send_json(
                    HTTPStatus.MISDIRECTED_REQUEST,
                    {
                        "error": {
                            "code": "MISDIRECTED_REQUEST",
                            "message": "Local mode answers only its own loopback address "
                            f"(http://127.0.0.1:{self.server.port}).",
                        }
                    },
                )
            elif path == "/register":
                if method == "POST":
                    self._register()
                elif method == "OPTIONS":
                    self._preflight()
                else:
                    self._method_not_allowed("POST, OPTIONS")
            elif path.startswith("/simulator/api/"):
                self._simulator_api(method, path.removeprefix("/simulator/api/"), url.query)
            elif path == "/admin/housekeeping":
                self._housekeeping(method)
            elif path.startswith("/admin/"):
                self._admin(method, path, url.query)
            elif method not in ("GET", "HEAD"):
                self._method_not_allowed("GET, HEAD")
            elif path == "/config.json":
                self._send_json(HTTPStatus.OK, self.service.form_config(self._api_url()))
            elif path in ("/simulator", "/simulator/"):
                self._static(SIMULATOR_ROOT, "/simulator.html")
            elif path.startswith("/simulator/"):
                self._static(SIMULATOR_ROOT, path.removeprefix("/simulator"))
            else:
                self._static(WEB_ROOT, path)
        except Exception:
            traceback.print_exc()
            self.console(f"error  ! {method} {path}: see the traceback above")
            self._send_json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {
                    "error": {
                        "code": ErrorCode.INTERNAL_ERROR,
                        "message": "local mode failed; see console",
                    }
                },
            )

    # POST /register ---------------------------------------------------------------------

    def _register(self) -> None:
        body = self._read_body()
        if body is None:
            self._gateway_error(BODY_TOO_LARGE)
            return
        number = self._number_in(body)
        before = self._status_of(number)
        status, headers, text = self.service.register(body, self._headers(), self.client_address[0])
        after = self._status_of(number)
        outcome = _code_of(text) if status >= 400 else "accepted"
        who = _masked(number) if number else "(no valid number)"
        self.console(f"form   > POST /register {who} -> {status} {outcome}{_change(before, after)}")
        self._send_response(status, headers, text)

    def _preflight(self) -> None:
        """CORS preflight, answered as API Gateway's preflight options do (infra/api.py)."""
        origin = self.headers.get("Origin", "")
        self.send_response(HTTPStatus.NO_CONTENT)
        if origin in self.service.settings.allowed_origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Methods", "POST,OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Max-Age", "3600")
            self.send_header("Vary", "Origin")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _number_in(self, body: bytes) -> str | None:
        """The E.164 number a registration names, for the console only (masked)."""
        from optin.domain.subscribers.phone import normalise

        try:
            document = json.loads(body)
            raw = document.get("phoneNumber") or document.get("destinationNumber")
            country = document.get("country") or self.service.settings.default_country
            allowed = self.service.settings.allowed_countries
            return normalise(str(raw), str(country), allowed).e164
        except Exception:
            return None

    def _status_of(self, number: str | None) -> str | None:
        if not number:
            return None
        return self.service.status(number)

    # /simulator/api ---------------------------------------------------------------------

    def _simulator_api(self, method: str, route: str, query: str) -> None:
        if route == "messages":
            if method != "GET":
                return self._method_not_allowed("GET")
            raw = _query_value(query, "phoneNumber")
            if raw is None:  # every message of every phone, oldest first
                return self._send_json(
                    HTTPStatus.OK, {"messages": self.service.simulator.all_messages()}
                )
            number = phone_parameter(raw)
            if number is None:
                return self._bad_request("phoneNumber must be an E.164 number like +12065550142")
            messages = [message.as_json() for message in self.service.simulator.messages(number)]
            return self._send_json(HTTPStatus.OK, {"messages": messages})
        if route == "inbound":
            if method != "POST":
                return self._method_not_allowed("POST")
            if not self._json_content():
                return self._unsupported_media_type()
            return self._inbound()
        if route.startswith("subscribers/"):
            if method != "GET":
                return self._method_not_allowed("GET")
            number = phone_parameter(route.removeprefix("subscribers/"))
            if number is None:
                return self._bad_request("the path must end with an E.164 number")
            described = self.service.describe(number)
            if described is None:
                return self._send_json(
                    HTTPStatus.NOT_FOUND,
                    {"error": {"code": "NOT_FOUND", "message": "No subscriber with this number."}},
                )
            return self._send_json(HTTPStatus.OK, described)
        if route == "phones":
            if method != "GET":
                return self._method_not_allowed("GET")
            return self._send_json(HTTPStatus.OK, {"phones": self.service.simulator.phones()})
        return self._send_json(
            HTTPStatus.NOT_FOUND, {"error": {"code": "NOT_FOUND", "message": "No such route."}}
        )

    def _inbound(self) -> None:
        body = self._read_body()
        try:
            document = json.loads(body or b"")
        except (ValueError, UnicodeDecodeError):
            return self._bad_request("the body must be JSON")
        if not isinstance(document, dict):
            return self._bad_request("the body must be a JSON object")
        number = document.get("originationNumber")
        text = document.get("messageBody")
        if not isinstance(number, str) or phone_parameter(number) is None:
            return self._bad_request("originationNumber must be an E.164 number like +12065550142")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_SMS_BODY:
            return self._bad_request(f"messageBody must be 1 to {MAX_SMS_BODY} characters")
        e164 = phone_parameter(number) or number
        before = self._status_of(e164)
        self.service.deliver_inbound(e164, text)
        after = self._status_of(e164)
        self.console(f"sns    > inbound handler {_masked(e164)} delivered{_change(before, after)}")
        return self._send_json(HTTPStatus.OK, {"delivered": True})

    # /admin: the operator API -----------------------------------------------------------

    def _admin(self, method: str, path: str, query: str) -> None:
        if method not in ("GET", "POST", "DELETE"):
            return self._method_not_allowed("GET, POST, DELETE")
        if method == "POST" and not self._json_content():
            return self._unsupported_media_type()
        body = self._read_body()
        if body is None:
            return self._send_json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {
                    "error": {
                        "code": AdminErrorCode.PAYLOAD_TOO_LARGE,
                        "message": f"The body is at most {MAX_BODY_BYTES} bytes.",
                    }
                },
            )
        status, headers, text = self.service.admin(method, path, query, body)
        self.console(f"admin  > {method} {_masked_path(path)} -> {status}")
        self._send_response(status, headers, text)

    def _housekeeping(self, method: str) -> None:
        if method != "POST":
            return self._method_not_allowed("POST")
        if not self._json_content():
            return self._unsupported_media_type()
        self._read_body()
        result = self.service.housekeeping()
        self.console(
            f"house  > housekeeping: {result.get('expired', 0)} expired, "
            f"{result.get('erased', 0)} erased"
        )
        return self._send_json(HTTPStatus.OK, result)

    # Static files -----------------------------------------------------------------------

    def _static(self, root: Path, url_path: str) -> None:
        file = resolve_static(root, url_path)
        if file is None:
            self._send_plain(HTTPStatus.NOT_FOUND, "Not found\n")
            return
        content = file.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", STATIC_TYPES.get(file.suffix) or _guess(file))
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-cache")
        self._security_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    # Helpers ----------------------------------------------------------------------------

    def _api_url(self) -> str:
        """This server's /register, as the browser reached it (so the form's origin matches)."""
        host = self.headers.get("Host", "")
        if not _LOOPBACK_HOST.match(host):
            host = f"127.0.0.1:{self.service.port}"
        return f"http://{host}/register"

    def _json_content(self) -> bool:
        """Whether the request says it carries JSON (a missing type reads as text/plain)."""
        return self.headers.get_content_type() == "application/json"

    def _own_host(self) -> bool:
        """Whether ``Host`` names this server: its loopback address or localhost, its port."""
        host = (self.headers.get("Host") or "").strip().lower()
        port = self.server.port
        return host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}")

    def _headers(self) -> dict[str, str]:
        return {key: value for key, value in self.headers.items()}

    def _read_body(self) -> bytes | None:
        """The request body; None when it is larger than local mode accepts."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(max(length, 0)) if length else b""

    def _security_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)

    def _send_response(self, status: int, headers: dict[str, str], body: str) -> None:
        content = body.encode()
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _send_json(self, status: int, document: Any) -> None:
        content = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-store")
        self._security_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    def _send_plain(self, status: int, text: str) -> None:
        content = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(content)))
        self._security_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    def _bad_request(self, message: str) -> None:
        self._send_json(
            HTTPStatus.BAD_REQUEST, {"error": {"code": "BAD_REQUEST", "message": message}}
        )

    def _unsupported_media_type(self) -> None:
        self.close_connection = True  # the body is left unread
        self._gateway_error(NOT_JSON_MEDIA_TYPE)

    def _gateway_error(self, answer: GatewayAnswer) -> None:
        """What API Gateway answers on AWS, in its words (optin.domain.errors); the
        registration API's error shape names a field, the operator API's does not."""
        error: dict[str, Any] = {"code": answer.code, "message": answer.message}
        if not self.path.startswith("/admin"):
            error["field"] = None
        self._send_json(HTTPStatus(answer.status), {"error": error})

    def _method_not_allowed(self, allowed: str) -> None:
        content = json.dumps(
            {"error": {"code": "METHOD_NOT_ALLOWED", "message": f"Use {allowed}."}}
        ).encode()
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", allowed)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the console shows the flow's steps, not every asset request."""


def _query_value(query: str, name: str) -> str | None:
    """A query parameter without turning ``+`` into a space (``?phoneNumber=+1...``)."""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) == name:
            return value
    return None


def _code_of(body: str) -> str:
    try:
        return str(json.loads(body)["error"]["code"])
    except Exception:
        return "error"


def _masked(number: str | None) -> str:
    from optin.domain.subscribers.phone import mask

    return mask(number) if number else "-"


def _masked_path(path: str) -> str:
    """An /admin path with the number in it masked, for the console."""
    parts = path.split("/")
    return "/".join(
        _masked(number) if (number := phone_parameter(part)) else part for part in parts
    )


def _change(before: str | None, after: str | None) -> str:
    if after is None or before == after:
        return f" (subscriber {after})" if after else ""
    return f" (subscriber {before or 'none'} -> {after})"


def _guess(file: Path) -> str:
    return mimetypes.guess_type(file.name)[0] or "application/octet-stream"


class LocalServer(ThreadingHTTPServer):
    """Binds first (so port 0 picks a free port), then serves once the service is attached."""

    daemon_threads = True
    request_queue_size = 128  # many clients at once (the standard library's 5 drops some)
    service: LocalService

    def __init__(self, host: str, port: int, console: Printer = print) -> None:
        super().__init__((host, port), LocalHandler)
        self.console = console

    @property
    def port(self) -> int:
        return int(self.server_address[1])
