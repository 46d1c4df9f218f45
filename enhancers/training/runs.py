"""The common start of a training run: seeds, threads, the photo corpus and the run folder's log."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
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


def training_device(name: str) -> torch.device:
    """The device a training run asks for: ``auto`` is CUDA when available, else the CPU; anything else is passed to
    :class:`torch.device` (``cpu``, ``cuda``, ``cuda:1``). On CUDA, cuDNN picks its fastest kernels (fixed crop
    sizes)."""
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device


class LossMeans:
    """Per-step loss terms summed and written to a run's log as their means every ``every`` steps:
    ``LABEL STEP name mean … EXTRA elapsed Ns``."""

    def __init__(self, log: TextIO, every: int, label: str = "step", digits: int = 4) -> None:
        self.log, self.every, self.label, self.digits = log, every, label, digits
        self.sums: dict[str, float] = {}

    def update(self, step: int, terms: Mapping[str, torch.Tensor | float], elapsed_s: float, extra: str = "") -> None:
        for k, v in terms.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v.detach() if isinstance(v, torch.Tensor) else v)
        if step % self.every == 0:
            means = " ".join(f"{k} {v / self.every:.{self.digits}f}" for k, v in self.sums.items())
            self.log.write(f"{self.label} {step} {means}{extra} elapsed {elapsed_s:.0f}s\n")
            self.sums = {}


def cosine_lr(base: float, progress: float) -> float:
    """Cosine decay from ``base`` to 1e-6 as ``progress`` (share of the step or time budget) goes 0 → 1, then held."""
    return 1e-6 + 0.5 * (base - 1e-6) * (1 + math.cos(math.pi * min(1.0, progress)))
