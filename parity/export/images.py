"""Plotly figures as PNG images, drawn by kaleido in headless Chromium (Debian's, at ``PARITY_CHROMIUM_PATH``).

One browser is started per batch and draws every figure of it in turn, so a pack of ten charts pays for one
browser start. MathJax is off: no chart uses it, and kaleido would otherwise fetch it from the network.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import plotly.graph_objects as go

# The size a chart is drawn at, in CSS pixels, and the pixel density of the image (sharp on a projector).
WIDTH, HEIGHT, SCALE = 1100, 560, 1.5


class ChromiumMissing(RuntimeError):
    """No Chromium where the settings say, so no chart can be drawn as an image."""


def chromium_problem(path: Path) -> str | None:
    """Why charts cannot be drawn as images here, in words for a person; None when they can."""
    if not Path(path).is_file() or not os.access(path, os.X_OK):
        return (
            f"Charts cannot be exported as images on this server: Chromium is not installed at {path}. "
            "On Debian, `make run` installs it (as root), or run `apt-get install chromium`; "
            "or set PARITY_CHROMIUM_PATH to a Chromium or Chrome that is installed."
        )
    return None


async def _draw(
    figures: Sequence[go.Figure], browser: Path, scale: float, done: Callable[[int], None] | None
) -> list[bytes]:
    import kaleido

    images = []
    async with kaleido.Kaleido(n=1, mathjax=False, path=str(browser)) as drawer:
        for figure in figures:
            images.append(await drawer.calc_fig(figure, opts={"format": "png", "scale": scale}))
            if done is not None:
                done(len(images))
    return images


def render_pngs(
    figures: Sequence[go.Figure],
    browser: Path,
    *,
    width: int = WIDTH,
    height: int | None = None,
    scale: float = SCALE,
    done: Callable[[int], None] | None = None,
) -> list[bytes]:
    """Each figure as PNG bytes, in order, ``width`` wide and ``height`` high (default: each figure's own height,
    else ``HEIGHT``). ``done(n)`` is called as the ``n``-th image is ready (for a progress bar).

    Raises ``ChromiumMissing`` (with what to do) when there is no browser at ``browser``.
    """
    problem = chromium_problem(browser)
    if problem:
        raise ChromiumMissing(problem)
    sized = [go.Figure(f).update_layout(width=width, height=height or f.layout.height or HEIGHT) for f in figures]
    return _run(_draw(sized, browser, scale, done)) if sized else []


def render_png(figure: go.Figure, browser: Path, **size: float) -> bytes:
    """One figure as PNG bytes (see ``render_pngs``)."""
    return render_pngs([figure], browser, **size)[0]  # type: ignore[arg-type]


def _run(coroutine):  # type: ignore[no-untyped-def]
    """Run a coroutine to the end, also from a thread whose event loop is already running (Streamlit's)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
