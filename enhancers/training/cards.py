"""Model-card text shared by the training reports: sections that another writer owns survive a rewrite."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

# Written by `benchmarks/cpu_precision.py --cards`; the training reports keep it when they rewrite a card.
CPU_PRECISION_HEADING = "## CPU precision"


def card_section(card: str, heading: str) -> str:
    """``heading`` and its text up to the next ``## `` heading ("" when the card has no such section)."""
    if heading not in card:
        return ""
    start = card.index(heading)
    end = card.find("\n## ", start + 1)
    return card[start:] if end < 0 else card[start:end + 1]


def existing_section(path: Path, heading: str) -> str:
    """:func:`card_section` of the card at ``path`` ("" when the file does not exist yet)."""
    return card_section(path.read_text(), heading) if path.is_file() else ""


def append_section(text: str, section: str) -> str:
    """``text`` (ending in a newline), a blank line, then ``section`` kept verbatim; ``text`` alone when "" ."""
    return text + (f"\n{section.rstrip()}\n" if section else "")


def run_or_stored(run: Path, stored: dict | None, block: Callable[[Path, dict], dict], metrics_file: str) -> dict:
    """What a card shows of a training run: ``block(run, summary)`` of the run's ``summary.json`` when the run
    folder is there, else ``stored``, the same block as an earlier ``metrics_file`` kept it (runs are not committed).

    Raises:
        FileNotFoundError: neither.
    """
    path = run / "summary.json"
    if path.is_file():
        return block(run, json.loads(path.read_text()))
    if stored is None:
        raise FileNotFoundError(f"no training run at {run} and no earlier {metrics_file} holding its summary")
    return stored
