"""The colorization cards can be rewritten from their committed metrics after the training runs are gone."""

import json
from itertools import pairwise

import pytest

from enhancers.specs import WEIGHTS_DIR
from enhancers.training import colorize_nogan_report as report
from enhancers.training.cards import CPU_PRECISION_HEADING, existing_section


def _write_run(run, steps: int, summary: dict) -> None:
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps(summary))
    lines = ["config {} train_photos 1"] + [f"step {s} l1_ab 0.{s:04d} elapsed {s * 2}s" for s in range(1, steps + 1)]
    (run / "train.log").write_text("\n".join(lines) + "\n")


def test_training_record_reads_runs_and_keeps_the_cards_rows(tmp_path):
    names = ("gen", "critic", "gan")
    for n, steps in zip(names, (30, 5, 12)):
        _write_run(tmp_path / n, steps, {"stage": n, "steps": steps})
    stages, logs = report.training_record(tmp_path, names, fallback=None)
    assert [s["stage"] for s in stages] == list(names)
    assert [len(rows) for rows in logs] == [8, 5, 10]
    # first and last step kept, steps in order, values parsed
    assert logs[0][0] == {"step": 1.0, "l1_ab": 0.0001, "elapsed_s": 2.0}
    assert logs[0][-1]["step"] == 30.0 and logs[2][-1]["step"] == 12.0
    assert all(a["step"] < b["step"] for rows in logs for a, b in pairwise(rows))


def test_training_record_falls_back_to_metrics_then_fails_clearly(tmp_path):
    block = [{"stage": "gen", "steps": 3, "train_photos": ["a.jpg"], "log": [{"step": 1.0}]}]
    stages, logs = report.training_record(tmp_path, ("gen",), fallback=block)
    assert stages == block and logs == [[{"step": 1.0}]]
    with pytest.raises(FileNotFoundError, match="loss rows"):
        report.training_record(tmp_path, ("gen",), fallback=[{"stage": "gen", "steps": 3}])
    with pytest.raises(FileNotFoundError, match="not under"):
        report.training_record(tmp_path, ("gen",), fallback=None)


def test_committed_color_unet_card_is_what_its_metrics_write():
    """`color-card` regenerates weights/color-unet.md from weights/color-metrics.json without the runs."""
    metrics = json.loads((WEIGHTS_DIR / "color-metrics.json").read_text())
    card = WEIGHTS_DIR / "color-unet.md"
    precision = existing_section(card, CPU_PRECISION_HEADING)
    assert precision, "the card keeps a CPU precision section"
    assert report.card_text(metrics, precision) == card.read_text()


def test_committed_color_classes_card_is_what_its_metrics_write():
    from enhancers.training import colorize_classes_report as classes

    metrics = json.loads((WEIGHTS_DIR / classes.METRICS).read_text())
    regression = json.loads((WEIGHTS_DIR / "color-metrics.json").read_text())["color-unet"]
    card = WEIGHTS_DIR / "color-classes.md"
    text = classes.card_text(metrics, regression, classes.VISUAL_CHECK, existing_section(card, CPU_PRECISION_HEADING))
    assert text == card.read_text()
