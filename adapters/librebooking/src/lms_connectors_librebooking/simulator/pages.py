"""The non-JSON answers of LibreBooking's API: Slim's error pages and the 401 text, as a live site sends them."""

from __future__ import annotations

import html

from lms_connectors.testing.sandbox import SandboxResponse

__all__ = ["TEXT_HTML", "method_not_allowed", "not_authenticated", "not_found_page", "slim_error_page"]

TEXT_HTML = {"Content-type": "text/html;charset=UTF-8"}
_STYLE = ("<style>body{margin:0;padding:30px;font:12px/1.5 Helvetica,Arial,Verdana,sans-serif;}h1{margin:0;"
          "font-size:48px;font-weight:normal;line-height:48px;}strong{display:inline-block;width:65px;}</style>")
ROOT = "<librebooking-root>"
"""Where the simulated site is installed, as its error pages say (the recordings' placeholder)."""


def slim_error_page(message: str, file: str, line: int, trace: list[str], *, code: int | None = 2,
                    error_type: str | None = None) -> SandboxResponse:
    """Slim's "Application Error" page, HTTP 500 (PHP raised a warning, a deprecation or an exception).

    Args:
        message: PHP's message.
        file: The file, relative to the installation.
        line: The line.
        trace: The stack frames after ``#0`` (each ``file(line): function()`` or ``[internal function]: ...``).
        code: PHP's error code (2 for a warning, 8192 for a deprecation); ``None`` for an exception (a failed
            query), whose page shows no code.
        error_type: An exception's class, shown as ``Type`` (an uncaught exception rather than a warning).
    """
    frames = "\n".join(f"#{index} {frame}" for index, frame in enumerate(trace))
    details = f"<div><strong>Type:</strong> {error_type}</div>" if error_type else ""
    details += f"<div><strong>Code:</strong> {code}</div>" if code is not None else ""
    details += (f"<div><strong>Message:</strong> {html.escape(message, quote=False)}</div>"
                f"<div><strong>File:</strong> {ROOT}/{file}</div><div><strong>Line:</strong> {line}</div>")
    page = (f"<html><head><title>Slim Application Error</title>{_STYLE}</head><body><h1>Slim Application Error</h1>"
            f"<p>The application could not run because of the following error:</p><h2>Details</h2>{details}"
            f"<h2>Trace</h2><pre>{html.escape(frames, quote=False)}</pre></body></html>")
    return SandboxResponse(500, page, dict(TEXT_HTML))


def not_authenticated(base: str) -> SandboxResponse:
    """The 401 of a secure route without a valid session (or an administrator's route for an ordinary user)."""
    text = f"You must be authenticated in order to access this service.<br/>{base}/Authentication/Authenticate"
    return SandboxResponse(401, text, dict(TEXT_HTML))


def not_found_page() -> SandboxResponse:
    """Slim's HTML 404 of a route the API does not have."""
    page = (f"<html><head><title>404 Page Not Found</title>{_STYLE}</head><body><h1>404 Page Not Found</h1><p>The page "
            "you are looking for could not be found. Check the address bar to ensure your URL is spelled correctly. "
            "If all else fails, you can visit our home page at the link below.</p>"
            '<a href="/Web/Services/index.php/">Visit the Home Page</a></body></html>')
    return SandboxResponse(404, page, dict(TEXT_HTML))


def method_not_allowed(allowed: list[str]) -> SandboxResponse:
    """Slim's 405 with the methods the route takes."""
    text = f"HTTP method not allowed for the requested resource. Use one of these instead: {', '.join(allowed)}"
    return SandboxResponse(405, text, {**TEXT_HTML, "Allow": " ".join(allowed)})
