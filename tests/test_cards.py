"""Model cards can be rewritten from their committed metrics after the training runs are gone, and keep the
sections another writer owns."""

import json
from itertools import pairwise

import pytest

from enhancers.specs import WEIGHTS_DIR
from enhancers.training import colorize_nogan_report as report
from enhancers.training import report_restore
from enhancers.training.cards import CPU_PRECISION_HEADING, append_section, existing_section


def _write_run(run, steps: int, summary: dict) -> None:
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps(summary))
    lines = ["config {} train_photos 1"] + [f"step {s} l1_ab 0.{s:04d} elapsed {s * 2}s" for s in range(1, steps + 1)]
    (run / "train.log").write_text("\n".join(lines) + "\n")


def test_training_record_reads_runs_and_keeps_the_cards_rows(tmp_path):
    names = ("gen", "critic", "gan")
    for n, steps in zip(names, (30, 5, 12)):
        _write_run(tmp_path / n, steps, {"config": {"stage": n}, "steps": steps, "train_seconds": 9, "stop": "time",
                                         "curve": [], "train_photos": ["a.jpg"], "weights": "w.safetensors"})
    stages = report.training_record(tmp_path, names, fallback=None)
    logs = [s.pop("log") for s in stages]
    # the summary fields the card shows, without the rest of summary.json
    assert stages[0] == {"stage": "gen", "steps": 30, "train_seconds": 9, "stop": "time", "config": {"stage": "gen"},
                         "curve": [], "train_photos": ["a.jpg"]}
    assert [s["stage"] for s in stages] == list(names)
    assert [len(rows) for rows in logs] == [8, 5, 10]
    # first and last step kept, steps in order, values parsed
    assert logs[0][0] == {"step": 1.0, "l1_ab": 0.0001, "elapsed_s": 2.0}
    assert logs[0][-1]["step"] == 30.0 and logs[2][-1]["step"] == 12.0
    assert all(a["step"] < b["step"] for rows in logs for a, b in pairwise(rows))


def test_training_record_falls_back_to_metrics_then_fails_clearly(tmp_path):
    block = [{"stage": "gen", "steps": 3, "train_photos": ["a.jpg"], "log": [{"step": 1.0}]}]
    assert report.training_record(tmp_path, ("gen",), fallback=block) == block
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


def test_append_section_keeps_one_blank_line_and_nothing_for_empty():
    assert append_section("# card\n", "") == "# card\n"
    assert append_section("# card\n", "## CPU precision\n\n- fp32\n\n") == "# card\n\n## CPU precision\n\n- fp32\n"


def test_restore_summaries_from_runs_or_committed_metrics(tmp_path):
    stage = {"steps": 40, "config": {"minutes": 5, "lr": 1e-3, "batch": 8, "patch": 96, "threads": 1}}
    summary = {**stage, "params": 123, "curve": [1, 2], "previous_runs": [stage]}
    for name in report_restore.CARD_RUNS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps(summary))
    got = report_restore.training_summaries(tmp_path, fallback=None)
    reduced = {"steps": 40, "config": {"minutes": 5, "lr": 1e-3, "batch": 8, "patch": 96}}
    assert got["denoise-unet"] == {"params": 123, **reduced, "previous_runs": [reduced],
                                   "train_photos": len(report_restore.data.split().train)}
    (tmp_path / "denoise-unet" / "summary.json").unlink()
    with pytest.raises(FileNotFoundError, match="denoise-unet"):
        report_restore.training_summaries(tmp_path, fallback=None)
    got = report_restore.training_summaries(tmp_path, fallback={"denoise-unet": {"params": 7}})
    assert got["denoise-unet"] == {"params": 7} and got["dejpeg-fbcnn-lite"]["params"] == 123


def test_committed_restore_cards_are_what_their_metrics_write():
    metrics = json.loads((WEIGHTS_DIR / "restore-metrics.json").read_text())
    kept = {n: existing_section(WEIGHTS_DIR / n, CPU_PRECISION_HEADING) for n in report_restore.CARDS}
    assert all(kept.values()), "both cards keep a CPU precision section"
    for name, text in report_restore.card_texts(metrics, kept).items():
        assert text == (WEIGHTS_DIR / name).read_text(), name


def test_committed_tone_cards_are_what_their_metrics_write():
    """`report-enhance --cards-only` rewrites both auto-tone cards from the committed metrics and run summaries."""
    from enhancers.training import report_enhance

    tone = json.loads(report_enhance.METRICS_FILE.read_text())["tone"]
    runs = json.loads(report_enhance.RUNS_FILE.read_text())
    assert set(tone) == set(report_enhance.TONE_CARD_TEXT) == {"tone/curves", "tone/curves-cautious"}
    for model_id, table in tone.items():
        card = WEIGHTS_DIR / f"{model_id.replace('/', '-')}.md"
        assert report_enhance.tone_card_text(model_id, table, runs) == card.read_text(), model_id


def test_paste_grid_centres_cells_in_columns_and_rows(tmp_path):
    from PIL import Image

    from enhancers.training.sheets import LABEL_HEIGHT, paste_grid

    red, blue = Image.new("RGB", (10, 6), (255, 0, 0)), Image.new("RGB", (4, 4), (0, 0, 255))
    path = paste_grid([[red, blue], [blue, red]], tmp_path / "grid.png", gap=2)
    with Image.open(path) as im:
        assert im.size == (10 + 2 + 10, 6 + 2 + 6)
        assert im.getpixel((0, 0)) == (255, 0, 0) and im.getpixel((12, 0)) == (255, 255, 255)
        assert im.getpixel((3 + 12, 1)) == (0, 0, 255)  # the 4×4 cell centred in its 10×6 slot
        assert im.getpixel((3, 1 + 8)) == (0, 0, 255) and im.getpixel((12, 8)) == (255, 0, 0)
    labelled = paste_grid([[red, blue]], tmp_path / "labelled.png", labels=["a", "b"])
    with Image.open(labelled) as im:
        assert im.size == (10 + 4 + 4, LABEL_HEIGHT + 6) and im.getpixel((0, LABEL_HEIGHT)) == (255, 0, 0)
    with pytest.raises(ValueError, match="equal length"):
        paste_grid([[red], [red, blue]], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="expected 2 labels, got 1"):
        paste_grid([[red, blue]], tmp_path / "bad.png", labels=["a"])
