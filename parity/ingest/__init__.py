"""Ingest: an export folder -> a validated DuckDB database, swapped in atomically (design.md §2, §3).

``python -m parity ingest DATA_DIR [--db PATH] [--extract-date YYYY-MM-DD] [--accept-rejects]``
``python -m parity check DATA_DIR [--report FILE]``: the same validation and report, nothing written.

How a load goes, one module per step:

1. ``sources``: find one file per table (``<table>.csv``, ``<table>.csv.gz`` or ``<table>.parquet``)
   and check each header against the contract. Anything wrong here refuses the whole load (exit 2)
   before a byte is written. Then read every file into a temporary all-VARCHAR table with the line
   each row starts on; records that cannot be read as rows are rejected there.
2. ``checks``: validate in SQL, one table at a time; a row that fails gets exactly one reject, every
   other row is loaded, typed, labelled from the contract and sorted by key.
3. ``build``: all of it in a new file beside the target, then the rejects report, both swapped in
   with ``os.replace``. Any failure before that leaves the old ones untouched.
4. ``cli``: the command line around ``build.ingest`` and ``build.check``.

A load in which any file loses more than ``PARITY_MAX_REJECT_SHARE`` of its rows is refused whole
(the CLI applies the setting; ``--accept-rejects`` loads the good rows anyway).
"""

from parity.ingest.build import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_REJECTS,
    SCHEMA_VERSION,
    FileCounts,
    IngestResult,
    RowCountMismatch,
    check,
    ingest,
    reject_reasons,
    rejects_path_for,
)
from parity.ingest.cli import main
from parity.ingest.sources import Refused

__all__ = [
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_REJECTS",
    "SCHEMA_VERSION",
    "FileCounts",
    "IngestResult",
    "Refused",
    "RowCountMismatch",
    "check",
    "ingest",
    "main",
    "reject_reasons",
    "rejects_path_for",
]
