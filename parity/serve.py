"""``python -m parity.serve``: start the real Streamlit server on app.py, routed by st.navigation.

Why not plain ``streamlit run app.py``: a fresh Streamlit server that finds a ``pages/`` folder beside
the main script treats the app as an old-style multipage app until app.py has run once, so the first
link straight to a page (``/concern-rates``) shows "Page not found" or runs that page without the
router's sidebar. app.py always calls ``st.navigation``, so tell Streamlit that before it starts.
Extra arguments go to ``streamlit run``.

Before it takes a visit the server imports what the pages use (``preload``), prepares the organisation profile's
national comparators for the filters the pages open on (``prepare_profiles``), and computes every page's View as the
page opens (``prepare_pages``); it prepares both again, in the background, whenever a new load is swapped in.

A page opened at its own address (a link to ``/concern-rates``) is told where the server is (``ConnectHere``):
Streamlit's browser code would otherwise look for it at the page's address first, and lose about 0.1 s.

Who may connect. With sign-in configured (``[auth]`` in ``.streamlit/secrets.toml``) the server
listens where it is told. Without it, the app has no idea who is looking, so it serves this computer
only: 127.0.0.1 when no address is given, and a refusal, with a plain message and exit status 2,
when asked to listen anywhere else. A half-configured ``[auth]`` is refused the same way.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parity import access

if TYPE_CHECKING:
    from parity.db import QueryRunner
    from parity.disclosure import Rule
    from parity.filters import Filters
    from parity.viewer import Viewer

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
EXIT_REFUSED = 2


def _address_option(args: list[str]) -> str | None:
    """The address the server will listen on, as Streamlit resolves it: the command line, then the
    environment, then .streamlit/config.toml (the project's, then the home folder's); None: every interface."""
    for i, arg in enumerate(args):
        if arg == "--server.address" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--server.address="):
            return arg.split("=", 1)[1]
    if os.environ.get("STREAMLIT_SERVER_ADDRESS"):
        return os.environ["STREAMLIT_SERVER_ADDRESS"]
    for config in (Path.cwd() / ".streamlit" / "config.toml", Path.home() / ".streamlit" / "config.toml"):
        try:
            address = tomllib.loads(config.read_text(encoding="utf-8")).get("server", {}).get("address")
        except (FileNotFoundError, tomllib.TOMLDecodeError):
            continue
        if address:
            return str(address)
    return None


def _secrets_files(args: list[str], cwd: Path) -> list[Path]:
    """Where Streamlit will read secrets: ``--secrets.files`` (repeatable) when given, else its defaults."""
    given = [Path(args[i + 1]) for i, arg in enumerate(args) if arg == "--secrets.files" and i + 1 < len(args)]
    given += [Path(arg.split("=", 1)[1]) for arg in args if arg.startswith("--secrets.files=")]
    return given or access.secrets_files(cwd)


def check_listen(args: list[str], cwd: Path) -> tuple[list[str], str | None]:
    """The arguments to start Streamlit with, or a plain refusal."""
    try:
        section = access.read_auth_section(_secrets_files(args, cwd))
    except ValueError as exc:
        return args, str(exc)
    problems = access.auth_problems(section)
    if problems:
        return args, " ".join(problems)
    address = _address_option(args)
    if section is None:
        if address is None:
            return [*args, "--server.address", "127.0.0.1"], None
        if address not in access.LOCAL_ADDRESSES:
            return args, (
                f"Refusing to listen on {address}: sign-in is not configured, so anyone who can reach this "
                "address would see the data. Either configure sign-in ([auth] in .streamlit/secrets.toml and "
                "a roles file; see README: Sign-in and roles) or serve this computer only with "
                "--server.address 127.0.0.1."
            )
    return args, None


# What the pages import, in the order they need it: loaded once when the server starts instead of during the
# first person's visit (scipy, statsmodels and the rest take seconds to import on a small machine).
PRELOAD: tuple[str, ...] = (
    "pandas",
    "duckdb",
    "scipy.stats",
    "statsmodels.api",
    "plotly.graph_objects",
    "parity.measures",
    "parity.charts",
    "parity.charts.pathways",
    "parity.tables",
    "parity.wording",
    "parity.ui",
    "parity.ui.signin",
    "parity.ui.opening",
    "parity.export.meeting",
    "parity.export.pack",
    # What the first script run would otherwise import: Streamlit's icon names and its components' manifests,
    # the parts of pandas some Views use once.
    "streamlit.material_icon_names",
    "streamlit.components.v2.manifest_scanner",
    "pandas.core.methods.to_dict",
    "pandas.core.reshape.reshape",
)


def preload() -> None:
    """Import every module the pages use, and let Plotly load the parts of itself a figure needs (it loads
    each trace type's checks on first use), before the server accepts its first visit; then freeze what is held
    so far out of the garbage collector's reach (``gc.freeze``)."""
    import importlib
    import logging

    # Before the server's runtime exists, each st.cache_data function warns that it will find its cache when
    # first called (as it does): not news to whoever reads the server's log.
    quiet = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level, quiet.level = quiet.level, logging.ERROR
    try:
        for name in PRELOAD:
            importlib.import_module(name)
    finally:
        quiet.setLevel(level)
    import inspect

    import pandas as pd
    import plotly.graph_objects as go
    import plotly.io as pio
    from streamlit import dataframe_util

    from parity.charts.theme import TEMPLATE

    # A figure with pandas data, sent as Streamlit sends one (its dict, then JSON): Plotly loads its checks for
    # each trace type, and the part of narwhals that reads pandas arrays.
    figure = go.Figure(
        [go.Scatter(x=pd.Series([0.0]), y=[0]), go.Bar(x=[0], y=[0]), go.Heatmap(z=[[0]]), go.Sankey()],
        layout={"template": TEMPLATE, "title": {"text": "", "subtitle": {"text": ""}}},
    )
    pio.to_json(figure.to_dict(), validate=False)
    # A table as Streamlit sends one: pyarrow's pandas conversion.
    dataframe_util.convert_pandas_df_to_arrow_bytes(pd.DataFrame({"a": [1], "b": ["x"]}))
    # Streamlit asks once, at the first element of the first visit, whether it runs in a REPL, with
    # inspect.stack(): the first call maps every loaded module to its file (0.06–0.1 s here); later ones reuse it.
    inspect.stack()
    _freeze()


def _freeze() -> None:
    """Move everything held so far (modules, Plotly's validators, prepared comparators) to the collector's
    permanent generation: Streamlit collects every generation after each script run, and walking these took about
    0.13 s a run (under cProfile, which slows it; 0.05–0.1 s off a warm Pathways visit in Chromium)."""
    import gc

    gc.collect()
    gc.freeze()


# How often the server looks for a new load of its database, to prepare the comparators for it.
PREPARE_EVERY_S = 2.0
_log = logging.getLogger("parity.serve")


def prepare_profiles() -> tuple[str, int] | None:
    """Prepare the profile's comparators (``prepare_profiles_of``) on the served database. Returns the database
    version prepared; None where there is nothing to prepare (no database yet, one of another schema version, or
    settings the app will refuse: it says why when visited)."""
    from parity.db import DatabaseMissing, DatabaseOutdated, QueryRunner
    from parity.settings import get_settings

    try:
        runner = QueryRunner(get_settings().db_path)
    except (ValueError, DatabaseMissing, DatabaseOutdated):  # a settings error is a ValueError
        return None
    with runner:
        prepare_profiles_of(runner)
        return runner.data_version


def opening_question(runner: QueryRunner) -> tuple[Filters, str, str, Rule]:
    """The question every page opens on, as the sidebar and settings pose it: the filters (every year, nothing
    else chosen), the split, its reference group and the disclosure rule."""
    from parity.measures import default_reference
    from parity.measures.profile import opening_filters
    from parity.settings import get_settings
    from parity.ui.data import disclosure_rule
    from parity.ui.state import DEFAULT_SPLIT

    settings = get_settings()
    reference = default_reference(DEFAULT_SPLIT, settings.ethnicity_reference, settings.pmq_reference)
    return opening_filters(runner), DEFAULT_SPLIT, reference, disclosure_rule()


def prepare_profiles_of(runner: QueryRunner) -> None:
    """Compute the national comparators of the Organisation page's profile for the question the pages open on
    (``opening_question``), at each viewer level, and keep them (``measures.profile.prepare_comparators``): what
    every organisation's profile shares, and the bulk of the first one's work. An employer's first profile then
    shares them, as the next one does."""
    from parity.measures.profile import prepare_comparators
    from parity.viewer import LEVELS

    filters, split, reference, rule = opening_question(runner)
    prepare_comparators(runner, filters, split, reference, LEVELS, rule)


def page_viewers(signed_in: bool) -> list[Viewer]:
    """Whom the pages are prepared for. With sign-in, each national role (an employer's pages open on their own
    organisation: their first visit computes them); without it, the one viewer settings describe, unless it is
    scoped to an organisation."""
    from parity.settings import get_settings
    from parity.viewer import Viewer

    if signed_in:
        return [Viewer(level, role=role) for role, (level, scoped) in access.ROLES.items() if not scoped]  # type: ignore[arg-type]
    settings = get_settings()
    local = Viewer(level=settings.viewer_level, org=settings.viewer_org)  # type: ignore[arg-type]
    return [local] if local.org is None else []


def prepare_pages(viewers: list[Viewer]) -> int:
    """Compute every page's View as the page opens (``ui.opening``) for ``viewers``, in the cache the pages read,
    so the first visit after a start or a new load computes no more than the next. Returns how many Views were
    asked for. Called once ``prepare_profiles`` has found the database good."""
    from parity.ui import opening
    from parity.ui.data import CachedQueryRunner

    # Outside a script run Streamlit's caches warn that they have no runtime; they are the caches the server uses.
    quiet = [logging.getLogger(name) for name in _BARE_MODE_LOGGERS]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    try:
        filters, split, reference, rule = opening_question(CachedQueryRunner())  # type: ignore[arg-type]
        return opening.prepare(filters, split, reference, rule, viewers)
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


_BARE_MODE_LOGGERS = (
    "streamlit.runtime.caching.cache_data_api",
    "streamlit.runtime.caching.cache_resource_api",
    "streamlit.runtime.scriptrunner_utils.script_run_context",
)


def _prepared_now(signed_in: bool = False) -> tuple[str, int] | None:
    """``prepare_profiles`` and ``prepare_pages``, logged; a failure is logged and never stops the server (a page
    then computes its View on its first visit, as it did before)."""
    start = time.perf_counter()
    try:
        version = prepare_profiles()
        if version is not None:
            views = prepare_pages(page_viewers(signed_in))
    except Exception:
        _log.exception("parity.serve: the pages could not be prepared")
        return None
    if version is not None:
        print(
            f"parity.serve: the profile's comparators and {views} page Views prepared in "
            f"{time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
    return version


def _keep_prepared(prepared: tuple[str, int] | None, stop: threading.Event, signed_in: bool = False) -> None:
    """Prepare the comparators and the pages again whenever a new load is swapped in (the file's version
    changes), until ``stop`` is set (the server never sets it: the thread ends with the process)."""
    from parity.db import file_version
    from parity.settings import get_settings

    while not stop.wait(PREPARE_EVERY_S):
        try:
            version = file_version(get_settings().db_path)
        except (ValueError, OSError):
            continue
        if version != prepared:
            prepared = _prepared_now(signed_in) or version  # a database that cannot be prepared is not tried again


# A page's own address: one segment under the app's root, in the characters Streamlit's page paths use.
_PAGE_PATH = re.compile(r"/[A-Za-z0-9_-]+")


def page_suffix(path: str, base_url_path: str) -> str | None:
    """The part of a request's ``path`` that names one page under the app's root (``/concern-rates``, with
    ``server.baseUrlPath`` ``base_url_path`` stripped first), or None: the root itself, a file, a deeper path, or
    a path outside the root."""
    root = "/" + base_url_path.strip("/") if base_url_path.strip("/") else ""
    if root and not path.startswith(root + "/"):
        return None
    rest = path[len(root) :]
    return rest if _PAGE_PATH.fullmatch(rest) else None


def connect_here_script(suffix: str) -> str:
    """The script put at the top of the page's HTML when it is served at ``suffix`` (a ``page_suffix``): it tells
    Streamlit's browser code where the server is, the address it was loaded from without the page's own part.

    Without it, that code first looks for the server at the page's address (``/concern-rates/_stcore/health``),
    is refused, waits 100 ms and then tries the address above it: about 0.1 s lost on every visit that starts on
    a page other than the first. The address is found in the browser, from the address bar, so that a proxy's
    prefix in front of the app is kept; a host that sets the address itself (``window.__streamlit``) is left to
    do so. ``suffix`` is a page path (letters, digits, ``-``, ``_``; ``page_suffix`` lets nothing else through)."""
    if not _PAGE_PATH.fullmatch(suffix):
        raise ValueError(f"not a page path: {suffix!r}")
    return (
        "<script>(function () {"
        f"var page = {json.dumps(suffix)}, path = location.pathname.replace(/\\/+$/, '');"
        "var host = window.__streamlit || {};"
        "if (host.BACKEND_BASE_URL || path.slice(-page.length) !== page) return;"
        "window.__streamlit = Object.assign({}, host, "
        "{BACKEND_BASE_URL: location.origin + path.slice(0, -page.length) + '/'});"
        "})();</script>"
    )


class ConnectHere:
    """ASGI middleware in front of Streamlit's server: the app's HTML, when served at a page's own address, gains
    ``connect_here_script`` at the top of its ``<head>``. Every other response, and every other request, passes
    through untouched."""

    def __init__(self, app: Any, base_url_path: str = "") -> None:
        self.app = app
        self.base_url_path = base_url_path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        suffix = page_suffix(scope.get("path", ""), self.base_url_path) if scope["type"] == "http" else None
        if suffix is None or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def send_with_script(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if message.get("status") == 200 and headers.get(b"content-type", b"").startswith(b"text/html"):
                    start["message"] = message  # held until the whole body is in
                    return
            elif message["type"] == "http.response.body" and start:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                html = b"".join(body).replace(b"<head>", b"<head>" + connect_here_script(suffix).encode(), 1)
                # A new length; no validators of the file on disk, which this body no longer is.
                skip = {b"content-length", b"etag", b"last-modified"}
                headers = [(k, v) for k, v in start["message"].get("headers", []) if k.lower() not in skip]
                await send({**start["message"], "headers": [*headers, (b"content-length", str(len(html)).encode())]})
                await send({"type": "http.response.body", "body": html, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, send_with_script)


def install_connect_here() -> None:
    """Add ``ConnectHere`` to the middleware Streamlit builds its server with (once, however often called).

    Streamlit 1.67 has no setting for this short of serving the app as an ``st.App``; its server takes its
    middleware from ``starlette_app.create_streamlit_middleware`` when it starts, so that is wrapped. A test
    fails if that function moves (requirements.txt pins Streamlit)."""
    from starlette.middleware import Middleware
    from streamlit import config
    from streamlit.web.server.starlette import starlette_app

    streamlit_middleware = starlette_app.create_streamlit_middleware
    if getattr(streamlit_middleware, "connect_here", False):
        return

    def with_connect_here() -> list[Any]:
        base = str(config.get_option("server.baseUrlPath") or "")
        # Last, so innermost: after the path checks, and before the compression of the HTML it edits.
        return [*streamlit_middleware(), Middleware(ConnectHere, base_url_path=base)]

    with_connect_here.connect_here = True  # type: ignore[attr-defined]
    starlette_app.create_streamlit_middleware = with_connect_here


def main(argv: list[str] | None = None) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    args, refusal = check_listen(list(sys.argv[1:] if argv is None else argv), Path.cwd())
    if refusal:
        print(f"parity.serve: {refusal}", file=sys.stderr)
        sys.exit(EXIT_REFUSED)
    preload()
    signed_in = access.read_auth_section(_secrets_files(args, Path.cwd())) is not None
    # Before the server takes its first visit, and again after each new load.
    prepared = _prepared_now(signed_in)
    _freeze()  # what the preparation keeps, out of the collector's reach too
    watcher = threading.Thread(
        target=_keep_prepared, args=(prepared, threading.Event(), signed_in), name="parity-prepare"
    )
    watcher.daemon = True
    watcher.start()
    PagesManager.uses_pages_directory = False
    install_connect_here()
    sys.argv = ["streamlit", "run", str(APP), *args]
    cli.main()


if __name__ == "__main__":
    main()
