"""``python -m parity.serve``: start the real Streamlit server on app.py, routed by st.navigation.

Why not plain ``streamlit run app.py``: a fresh Streamlit server that finds a ``pages/`` folder beside
the main script treats the app as an old-style multipage app until app.py has run once, so the first
link straight to a page (``/concern-rates``) shows "Page not found" or runs that page without the
router's sidebar. app.py always calls ``st.navigation``, so tell Streamlit that before it starts.
Extra arguments go to ``streamlit run``.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
