"""`python -m connectors.web`, really started: the files, the headers, French 4xx, the config."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from .conftest import ROOT, free_port, wait_http


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    port = free_port()
    env = {
        **os.environ,
        "ND_WEB_PORT": str(port),
        "ND_SOCKET_URL": "https://chat.asso.example:5005",
        "ND_QUICK_EXIT_URL": "https://www.example.org/meteo",
    }
    log = tmp_path_factory.mktemp("web") / "web.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connectors.web"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, timeout=30)
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def get(url: str, method: str = "GET"):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_demo_page_has_one_script_tag_and_strict_headers(web):
    base, _ = web
    status, headers, body = get(base + "/")
    page = body.decode()
    assert status == 200 and page.count("<script") == 1 and 'src="/widget.js"' in page
    assert "<style" not in page and " style=" not in page and "<title>Accueil</title>" in page
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert "connect-src 'self' https://chat.asso.example:5005 wss://chat.asso.example:5005;" in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store" and "Set-Cookie" not in headers


def test_widget_files_and_the_socket_io_client_from_node_modules(web):
    base, _ = web
    for path, kind in (
        ("/widget.js", "javascript"),
        ("/widget.css", "css"),
        ("/favicon.svg", "svg"),
        ("/vendor/socket.io.min.js", "javascript"),
    ):
        status, headers, body = get(base + path)
        assert status == 200 and kind in headers["Content-Type"] and body, path
    widget = re.sub(r"/\*.*?\*/|//[^\n]*", "", get(base + "/widget.js")[2].decode(), flags=re.S)  # code only
    for storage in ("localStorage", "sessionStorage", "indexedDB", "document.cookie", "serviceWorker"):
        assert storage not in widget


def test_config_carries_the_quick_exit_url(web):
    base, _ = web
    status, headers, body = get(base + "/widget-config.json")
    config = json.loads(body)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert config["quickExitUrl"] == "https://www.example.org/meteo"
    assert config["socketUrl"] == "https://chat.asso.example:5005"
    assert config["adviceUrl"].startswith("https://arretonslesviolences.gouv.fr")


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/widget.js/",
        "/../connectors/web.py",
        "/%2e%2e/README.md",
        "/vendor/../../package.json",
        "/node_modules/axe-core/axe.min.js",
        "/" + "a" * 20000,
    ],
)
def test_bad_paths_get_a_french_4xx(web, path):
    base, _ = web
    status, _, body = get(base + path)
    assert 400 <= status < 500, (path, status)
    assert "introuvable" in body.decode() or "invalide" in body.decode()


def test_other_methods_are_refused_in_french(web):
    base, log = web
    status, _, body = get(base + "/widget.js", method="DELETE")
    assert status == 405 and "Méthode non autorisée" in body.decode()
    assert "Traceback" not in log.read_text()


def test_a_bad_quick_exit_url_falls_back_to_the_default(monkeypatch):
    from connectors import web as web_module

    monkeypatch.setenv("ND_QUICK_EXIT_URL", "javascript:alert(1)")
    assert web_module.quick_exit_url() == "https://meteofrance.com/"
    monkeypatch.setenv("ND_QUICK_EXIT_URL", "https://www.lemonde.fr/")
    assert web_module.quick_exit_url() == "https://www.lemonde.fr/"
