"""The action server, internal: loopback by default, a token on every call but /health.

    python -m connectors.action_server        (ND_ACTION_HOST 127.0.0.1, ND_ACTION_PORT 5055)

Rasa sends the token from endpoints.yml (`token: ${ND_ACTION_TOKEN}`) as the `token`
query parameter (rasa.utils.endpoints.EndpointConfig). Without ND_ACTION_TOKEN the
token is read from (or created in) `<state dir>/keys/action.token`, rights 0600;
scripts/run_all.sh does the same and exports it to both processes.

rasa-sdk's own error handler answers a 500 that echoes the whole request (every
message and slot) and logs the traceback; here a failure is logged by exception type
only and answered with a fixed body.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import secrets
import traceback
import zlib
from pathlib import Path
from typing import Mapping, Optional

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.cases import config

logger = logging.getLogger("connectors.action_server")

OPEN_PATHS = frozenset({"/health"})


def token_file(env: Optional[Mapping[str, str]] = None) -> Path:
    return config.state_dir(env) / "keys" / "action.token"


def load_token(env: Optional[Mapping[str, str]] = None) -> str:
    """ND_ACTION_TOKEN, else the token file (created with 0600 rights when missing)."""
    env = os.environ if env is None else env
    token = (env.get("ND_ACTION_TOKEN") or "").strip()
    if token:
        return token
    path = token_file(env)
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    if token:
        return token
    config.make_private_dir(path.parent)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    logger.info("action token created in the state directory")
    return token


def _refuse(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def create_app(token: str, actions_package: str = "actions") -> Sanic:
    """rasa-sdk's app, with the token check and an error handler that never echoes."""
    from rasa_sdk.endpoint import create_app as sdk_create_app

    if not token:
        raise ValueError("an action token is required")
    expected = token.encode()
    # No CORS origin: browsers have nothing to do here.
    app = sdk_create_app(actions_package, cors_origins="")

    @app.on_request
    async def check_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        given = request.args.get("token") or ""
        if not hmac.compare_digest(given.encode(), expected):
            logger.warning("action server: call refused (missing or wrong token) on %s", request.path[:64])
            return _refuse(401, "unauthorized")
        if request.path == "/webhook" and request.method == "POST" and _malformed(request):
            return _refuse(400, "bad request")
        return None

    async def on_error(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException):
            status = getattr(exception, "status_code", 500) or 500
            if status < 500:
                return _refuse(status, "bad request" if status != 404 else "not found")
        if request.path == "/webhook" and _malformed(request):
            return _refuse(400, "bad request")
        # The type and where: the message (or a traceback's) could quote her words.
        logger.error("action server: action failed (%s at %s)", type(exception).__name__, _where(exception))
        return _refuse(500, "action failed")

    app.error_handler.add(Exception, on_error)
    return app


def _where(exception: BaseException) -> str:
    frames = traceback.extract_tb(exception.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def _malformed(request: Request) -> bool:
    """True when the body is not an action call at all (a client error, not ours)."""
    try:
        body = request.body
        if request.headers.get("Content-Encoding") == "deflate":
            body = zlib.decompress(body)
        call = json.loads(body)
    except Exception:
        return True
    if not isinstance(call, dict) or not isinstance(call.get("next_action"), str):
        return True
    tracker = call.get("tracker")
    return not (
        isinstance(tracker, dict)
        and isinstance(tracker.get("sender_id"), str)
        and isinstance(tracker.get("events"), list)
        and isinstance(tracker.get("slots"), dict)
        and isinstance(tracker.get("latest_message"), dict)
        and isinstance(call.get("domain", {}), dict)
    )


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description="Nouveau départ action server (internal)")
    parser.add_argument("--host", default=os.environ.get("ND_ACTION_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ND_ACTION_PORT", "5055")))
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # rasa-sdk's own loggers stay at INFO: they name actions, never their contents.
    app = create_app(load_token(), args.actions)
    logger.info("action server on http://%s:%d", args.host, args.port)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
