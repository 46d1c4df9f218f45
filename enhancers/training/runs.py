"""The common start of a training run: seeds, threads, the photo corpus and the run folder's log."""

from __future__ import annotations

import random
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from . import data


def start_run(run_dir: str, name: str, seed: int, threads: int
              ) -> tuple[Path, TextIO, random.Random, np.random.Generator]:
    """Seed torch, set its thread count, check that the corpus is on disk, and open ``RUN_DIR/NAME/train.log``
    (appending, line-buffered).

    Returns:
        The run folder, the open log, and Python and numpy generators seeded with ``seed``.

    Raises:
        MissingDataError: no corpus photos (before any folder is created).
    """
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    data.require_corpus()
    run = Path(run_dir) / name
    run.mkdir(parents=True, exist_ok=True)
    log = open(run / "train.log", "a", buffering=1)
    return run, log, random.Random(seed), np.random.default_rng(seed)
