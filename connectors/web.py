"""The public web side: the widget's files and a French demo page (`python -m connectors.web`).

Only a fixed list of files is served (no path from the URL ever reaches the disk), each
with a strict Content-Security-Policy (no inline script or style; connect-src limited
to this origin and the Rasa socket), no cookies, nothing cached by the browser. The
socket.io client comes from node_modules (package.json, `make setup`).

Configuration: ND_WEB_HOST (127.0.0.1), ND_WEB_PORT (8000), ND_SOCKET_URL
(http://localhost:5005), ND_QUICK_EXIT_URL (https://meteofrance.com/).
"""

from __future__ import annotations

import argparse
import html
import logging
import os
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

from sanic import Sanic, response
from sanic.exceptions import MethodNotSupported, NotFound, SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
WIDGET_DIR = Path(__file__).resolve().parent / "widget"
NODE_MODULES = ROOT / "node_modules"
DEFAULT_SOCKET_URL = "http://localhost:5005"
DEFAULT_QUICK_EXIT_URL = "https://meteofrance.com/"
# The government's page on protecting oneself (traces, spied phone): shown with the quick exit.
ADVICE_URL = "https://arretonslesviolences.gouv.fr/"

JS, CSS, HTML, SVG = (
    "text/javascript; charset=utf-8",
    "text/css; charset=utf-8",
    "text/html; charset=utf-8",
    "image/svg+xml",
)
FILES: Dict[str, Tuple[Path, str]] = {
    "/": (WIDGET_DIR / "demo" / "index.html", HTML),
    "/demo.css": (WIDGET_DIR / "demo" / "demo.css", CSS),
    "/widget.js": (WIDGET_DIR / "widget.js", JS),
    "/widget.css": (WIDGET_DIR / "widget.css", CSS),
    "/favicon.svg": (WIDGET_DIR / "favicon.svg", SVG),
    "/vendor/socket.io.min.js": (NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js", JS),
}


def _http_url(value: Optional[str], default: str) -> str:
    """`value` if it is an absolute http(s) URL, else `default` (a typo must not break the exit)."""
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return value
    if value:
        logger.warning("web: ignored a URL that is not http(s); default used")
    return default


def socket_url() -> str:
    return _http_url(os.environ.get("ND_SOCKET_URL"), DEFAULT_SOCKET_URL).rstrip("/")


def quick_exit_url() -> str:
    return _http_url(os.environ.get("ND_QUICK_EXIT_URL"), DEFAULT_QUICK_EXIT_URL)


def content_security_policy(socket: str) -> str:
    parts = urlsplit(socket)
    origin = f"{parts.scheme}://{parts.netloc}"
    ws = ("wss://" if parts.scheme == "https" else "ws://") + parts.netloc
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' {origin} {ws}; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def _page(status: int, title: str, text: str) -> HTTPResponse:
    body = (
        f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        '<p><a href="/">Retour à l\'accueil</a></p></body></html>'
    )
    return response.html(body, status=status)


def create_app(name: str = "nd_web") -> Sanic:
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 16 * 1024  # nothing is posted here
    socket = socket_url()
    csp = content_security_policy(socket)
    config = {"socketUrl": socket, "quickExitUrl": quick_exit_url(), "adviceUrl": ADVICE_URL}

    @app.on_response
    async def security_headers(request: Request, resp: HTTPResponse) -> None:
        resp.headers["Content-Security-Policy"] = csp
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        resp.headers["Cache-Control"] = "no-store"  # nothing of the visit kept in the browser cache

    @app.get("/widget-config.json")
    async def widget_config(request: Request) -> HTTPResponse:
        # Read by the widget from any site that embeds it: public, no credentials.
        return response.json(config, headers={"Access-Control-Allow-Origin": "*"})

    def serve(path: Path, content_type: str):
        async def handler(request: Request) -> HTTPResponse:
            try:
                body = path.read_bytes()
            except OSError as error:
                if path.is_relative_to(NODE_MODULES):
                    return _page(
                        503, "Service indisponible", "Le client socket.io n'est pas installé : lancez « make setup »."
                    )
                raise NotFound("fichier absent") from error
            return response.raw(body, content_type=content_type)

        return handler

    for route, (path, content_type) in FILES.items():
        app.add_route(
            serve(path, content_type),
            route,
            methods=["GET", "HEAD"],
            strict_slashes=True,
            name="file" + route.replace("/", "_").replace(".", "_"),
        )

    @app.exception(NotFound)
    async def not_found(request: Request, exc: Exception) -> HTTPResponse:
        return _page(404, "Page introuvable", "Cette page n'existe pas.")

    @app.exception(MethodNotSupported)
    async def not_allowed(request: Request, exc: Exception) -> HTTPResponse:
        return _page(405, "Méthode non autorisée", "Cette adresse ne se consulte qu'en lecture.")

    @app.exception(SanicException)
    async def client_error(request: Request, exc: SanicException) -> HTTPResponse:
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        return _page(status, "Requête invalide", "Cette requête n'a pas pu être lue.")

    @app.exception(Exception)
    async def unexpected(request: Request, exc: Exception) -> HTTPResponse:
        logger.error("web: unexpected error (%s)", type(exc).__name__)
        return _page(503, "Service indisponible", "Un problème technique est survenu. Réessayez plus tard.")

    return app


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description="Nouveau départ: the widget and its demo page.")
    parser.add_argument("--host", default=os.environ.get("ND_WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ND_WEB_PORT", "8000")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    print(f"web: demo page on http://{args.host}:{args.port}/ (socket {socket_url()})", flush=True)
    app.run(host=args.host, port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
