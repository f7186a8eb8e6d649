"""parity.serve: without sign-in, this computer only; a refusal is plain and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from parity.serve import ROOT, check_listen

AUTH = """[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "a long random secret for the test only"
client_id = "parity"
client_secret = "secret"
server_metadata_url = "http://127.0.0.1:9400/.well-known/openid-configuration"
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home folder and working folder: no secrets, no config, unless a test writes them."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "work"


def test_without_auth_and_no_address_it_listens_on_localhost_only(home: Path):
    assert check_listen(["--server.port", "9"], home) == (["--server.port", "9", "--server.address", "127.0.0.1"], None)


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1"])
def test_without_auth_a_local_address_is_fine(home: Path, address: str):
    assert check_listen(["--server.address", address], home) == (["--server.address", address], None)


@pytest.mark.parametrize(
    "args", [["--server.address", "0.0.0.0"], ["--server.address=10.1.2.3"], ["--server.address", "parity.example"]]
)
def test_without_auth_any_other_address_is_refused(home: Path, args: list[str]):
    _, refusal = check_listen(args, home)
    assert refusal is not None and refusal.startswith("Refusing to listen on ")
    assert "sign-in is not configured" in refusal and "--server.address 127.0.0.1" in refusal


def test_the_address_from_the_environment_or_config_counts(home: Path, monkeypatch: pytest.MonkeyPatch):
    (home / ".streamlit").mkdir()
    (home / ".streamlit" / "config.toml").write_text('[server]\naddress = "0.0.0.0"\n')
    assert check_listen([], home)[1] is not None
    monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", "127.0.0.1")
    assert check_listen([], home) == ([], None)


def test_with_auth_it_listens_where_told(home: Path):
    (home / ".streamlit").mkdir()
    (home / ".streamlit" / "secrets.toml").write_text(AUTH)
    assert check_listen(["--server.address", "0.0.0.0"], home) == (["--server.address", "0.0.0.0"], None)


def test_half_configured_auth_is_refused(home: Path):
    (home / ".streamlit").mkdir()
    (home / ".streamlit" / "secrets.toml").write_text(AUTH.replace('cookie_secret = "a long random secret', "# "))
    _, refusal = check_listen([], home)
    assert refusal is not None and "cookie_secret is missing" in refusal


def test_refusal_from_the_command_line(home: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "parity.serve", "--server.address", "0.0.0.0", "--server.port", "1"],
        capture_output=True,
        text=True,
        cwd=home,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("parity.serve: Refusing to listen on 0.0.0.0")
    assert "Traceback" not in done.stderr


def test_the_server_loads_what_the_pages_import_before_the_first_visit() -> None:
    """``preload`` (run by ``main`` before Streamlit starts) imports every module app.py and the pages import,
    so the first person to visit does not wait for scipy, statsmodels and the rest to load."""
    import ast
    import subprocess
    import sys

    wanted: set[str] = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                wanted |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                wanted.add(node.module)
                wanted |= {f"{node.module}.{alias.name}" for alias in node.names}
    script = "import sys; from parity.serve import preload; preload(); print('\\n'.join(sys.modules))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    # ``from parity import charts`` names a module; ``from parity.measures import overview_view`` a function.
    missing = {name for name in wanted if name not in loaded and name.rsplit(".", 1)[0] not in loaded}
    assert not missing, f"imported by a page but not loaded before the first visit: {sorted(missing)}"
    assert {"scipy.stats", "statsmodels.api", "parity.measures", "parity.charts"} <= loaded


def test_no_page_imports_a_module_after_the_preload(sample_db: Path, tmp_path: Path):
    """Every page, run after the preload (in AppTest, in a fresh interpreter), imports no module the preload did
    not: nothing is left for the first person's visit to load (Streamlit's testing modules aside)."""
    import json
    import subprocess
    import sys

    from apptest import CHART_PAGES

    script = (
        "import json, sys\n"
        "from parity.serve import preload\n"
        "preload()\n"
        "from streamlit.testing.v1 import AppTest\n"
        "loaded = set(sys.modules)\n"
        "at = AppTest.from_file('app.py', default_timeout=120)\n"
        "at.run()\n"
        f"for page in {[*CHART_PAGES, 'pages/data.py']!r}:\n"
        "    at.switch_page(page).run()\n"
        "    assert not at.exception, (page, at.exception)\n"
        "print(json.dumps(sorted(set(sys.modules) - loaded)))\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PARITY_")},
        "PARITY_DB_PATH": str(sample_db),
        "PARITY_AUDIT_PATH": str(tmp_path / "audit.jsonl"),
    }
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    imported = [m for m in json.loads(run.stdout.strip().splitlines()[-1]) if not m.startswith("streamlit.testing")]
    assert not imported, f"imported during the first visit, not by the preload: {imported}"


# The page's HTML tells Streamlit's browser code where the server is (serve.ConnectHere).

PAGE_HTML = b"<!DOCTYPE html><html lang='en'><head><title>Streamlit</title></head><body></body></html>"


def _served(
    path: str,
    *,
    method: str = "GET",
    status: int = 200,
    content_type: bytes = b"text/html; charset=utf-8",
    chunks: tuple[bytes, ...] = (PAGE_HTML,),
    base: str = "",
) -> tuple[dict, bytes]:
    """What ConnectHere sends for one request, in front of an app that answers with ``chunks``: (the start
    message, the whole body)."""
    import asyncio

    from parity.serve import ConnectHere

    async def app(scope, receive, send) -> None:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(sum(map(len, chunks))).encode()),
            (b"etag", b'"abc"'),
            (b"last-modified", b"Sun, 29 Nov 2026 17:55:21 GMT"),
            (b"cache-control", b"no-cache"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request"}

    asyncio.run(ConnectHere(app, base_url_path=base)({"type": "http", "method": method, "path": path}, receive, send))
    return sent[0], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize(
    ("path", "base", "suffix"),
    [
        ("/concern-rates", "", "/concern-rates"),
        ("/data", "", "/data"),
        ("/audit", "", "/audit"),
        ("/parity/organisation", "parity", "/organisation"),
        ("/parity/organisation", "/parity/", "/organisation"),
        ("/", "", None),  # the first page: Streamlit looks at the root first anyway
        ("/parity", "parity", None),
        ("/organisation", "parity", None),  # outside the app's root
        ("/favicon.png", "", None),
        ("/static/js/index.js", "", None),
        ("/concern-rates/more", "", None),
        ("/a<script>", "", None),
        ("/a'b", "", None),
    ],
)
def test_the_page_part_of_an_address(path: str, base: str, suffix: str | None):
    from parity.serve import page_suffix

    assert page_suffix(path, base) == suffix


def test_the_script_names_only_a_page_path():
    from parity.serve import connect_here_script

    script = connect_here_script("/concern-rates")
    assert script.startswith("<script>") and script.endswith("</script>")
    assert '"/concern-rates"' in script and "BACKEND_BASE_URL" in script
    for bad in ("/a</script><script>alert(1)", "/a'b", "concern-rates", "/a/b", ""):
        with pytest.raises(ValueError, match="not a page path"):
            connect_here_script(bad)


def test_a_page_s_html_gains_the_script_whole_in_one_body():
    from parity.serve import connect_here_script

    start, body = _served("/durations", chunks=(PAGE_HTML[:30], PAGE_HTML[30:]))
    script = connect_here_script("/durations").encode()
    assert body == PAGE_HTML.replace(b"<head>", b"<head>" + script)
    headers = dict(start["headers"])
    assert start["status"] == 200
    assert headers[b"content-length"] == str(len(body)).encode()
    # Not the file on disk any more: no validators of it; the rest as Streamlit sent them.
    assert b"etag" not in headers and b"last-modified" not in headers
    assert headers[b"cache-control"] == b"no-cache" and headers[b"content-type"].startswith(b"text/html")


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/", {}),  # the first page
        ("/static/js/index.js", {"content_type": b"text/javascript"}),
        ("/durations", {"method": "HEAD"}),
        ("/durations", {"status": 304}),  # the browser's own copy is still good: no body to edit
        ("/durations", {"content_type": b"application/json"}),
        ("/parity/durations", {}),  # no base path set: a deeper path, not a page
    ],
)
def test_everything_else_passes_through_untouched(path: str, kwargs: dict):
    start, body = _served(path, **kwargs)
    assert body == PAGE_HTML
    assert dict(start["headers"])[b"etag"] == b'"abc"'


def test_the_middleware_is_added_once_inside_streamlit_s_own(monkeypatch: pytest.MonkeyPatch):
    """Streamlit builds its server's middleware with starlette_app.create_streamlit_middleware (a pinned Streamlit
    keeps it there): ConnectHere is added last, inside the path checks and the compression, and only once."""
    from streamlit.web.server.starlette import starlette_app

    from parity.serve import ConnectHere, install_connect_here

    monkeypatch.setattr(starlette_app, "create_streamlit_middleware", starlette_app.create_streamlit_middleware)
    plain = [m.cls for m in starlette_app.create_streamlit_middleware()]
    install_connect_here()
    install_connect_here()
    ours = [m.cls for m in starlette_app.create_streamlit_middleware()]
    assert ours == [*plain, ConnectHere]
    assert plain[0].__name__ == "PathSecurityMiddleware" and "GZip" in plain[-1].__name__
