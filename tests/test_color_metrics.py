"""Balanced hue accuracy (enhancers.color_metrics) on synthetic images built in L*a*b* and on a real photo."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb

from enhancers.color_metrics import GRAY_CHROMA, balanced_hue_accuracy
from enhancers.errors import InvalidInputError
from enhancers.lab import gray_to_rgb, ntsc_gray
from enhancers.training import data

YELLOW_BROWN = (55.0, 8.0, 30.0)  # hue 75°, chroma 31
BLUE = (50.0, 5.0, -35.0)  # hue 278°, chroma 35
NEUTRAL = (50.0, 0.0, 0.0)


def _image(rows: list[tuple[tuple[float, float, float], int]], width: int = 20) -> torch.Tensor:
    """RGB float32 (1, 3, H, W): horizontal bands of the given L*a*b* colours, ``n`` rows each."""
    lab = np.concatenate([np.tile(np.array(c, dtype=np.float64), (n, width, 1)) for c, n in rows])
    rgb = lab2rgb(lab)
    return torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None].contiguous()


def _hue_wheel(rotate_deg: float = 0.0, chroma: float = 30.0) -> torch.Tensor:
    """Six bands at the centres of the six hue bins (30°, 90°, …), L* 60, hues turned by ``rotate_deg``."""
    bands = []
    for k in range(6):
        h = math.radians(30.0 + 60.0 * k + rotate_deg)
        bands.append(((60.0, chroma * math.cos(h), chroma * math.sin(h)), 8))
    return _image(bands)


def test_the_truth_scores_one_and_gray_scores_zero():
    truth = _hue_wheel()
    assert balanced_hue_accuracy(truth, truth) == 1.0
    assert balanced_hue_accuracy(gray_to_rgb(ntsc_gray(truth)), truth) == 0.0
    photo = data.prepare_hr(data.skimage_dir() / "astronaut.png", crop=256)
    assert balanced_hue_accuracy(photo, photo) == 1.0
    assert balanced_hue_accuracy(gray_to_rgb(ntsc_gray(photo)), photo) == 0.0


@pytest.mark.parametrize("turn", [30.0, -30.0, 40.0])
def test_hues_turned_by_less_than_45_degrees_are_right(turn):
    assert balanced_hue_accuracy(_hue_wheel(turn), _hue_wheel()) == 1.0


@pytest.mark.parametrize("turn", [90.0, -90.0, 180.0, 55.0])
def test_hues_turned_by_more_than_45_degrees_are_wrong(turn):
    assert balanced_hue_accuracy(_hue_wheel(turn), _hue_wheel()) == 0.0


def test_a_prediction_grayer_than_the_threshold_counts_as_wrong_whatever_its_hue():
    truth = _hue_wheel()
    assert GRAY_CHROMA == 5.0
    assert balanced_hue_accuracy(_hue_wheel(chroma=3.0), truth) == 0.0  # the right hues, but nearly gray
    assert balanced_hue_accuracy(_hue_wheel(chroma=8.0), truth) == 1.0  # the right hues, pale but coloured


def test_a_constant_guess_scores_one_over_the_number_of_hue_bins_present():
    truth = _image([(YELLOW_BROWN, 10), (BLUE, 10)])
    guess = _image([(YELLOW_BROWN, 20)])
    assert balanced_hue_accuracy(guess, truth) == pytest.approx(0.5)
    # balanced, not per pixel: 90 % of the pixels right still scores 0.5
    truth = _image([(YELLOW_BROWN, 18), (BLUE, 2)])
    assert balanced_hue_accuracy(guess, truth) == pytest.approx(0.5)
    assert balanced_hue_accuracy(_image([(BLUE, 20)]), truth) == pytest.approx(0.5)


def test_bins_under_two_percent_of_the_coloured_pixels_are_left_out():
    guess = _image([(NEUTRAL, 40), (YELLOW_BROWN, 61)])
    # 1 blue row of 60 coloured rows (1.7 %): ignored; the gray rows neither count nor dilute the share
    assert balanced_hue_accuracy(guess[..., :100, :], _image([(NEUTRAL, 40), (YELLOW_BROWN, 59), (BLUE, 1)])) == 1.0
    # 2 blue rows of 61 coloured rows (3.3 %, though under 2 % of all 101 rows): the blue bin counts, all wrong
    assert balanced_hue_accuracy(guess, _image([(NEUTRAL, 40), (YELLOW_BROWN, 59), (BLUE, 2)])) == pytest.approx(0.5)


def test_low_chroma_truth_pixels_are_not_scored_and_a_gray_truth_gives_nan():
    # the truth's pale band (chroma 10 ≤ 15) is not scored, so the wrong guess there costs nothing
    pale = (60.0, 0.0, -10.0)
    truth = _image([(YELLOW_BROWN, 10), (pale, 10)])
    assert balanced_hue_accuracy(_image([(YELLOW_BROWN, 20)]), truth) == 1.0
    assert math.isnan(balanced_hue_accuracy(_image([(YELLOW_BROWN, 20)]), _image([(NEUTRAL, 10), (pale, 10)])))


def test_shape_and_dtype_errors_raise_the_typed_error():
    x = _hue_wheel()
    with pytest.raises(InvalidInputError, match="differ in shape"):
        balanced_hue_accuracy(x[..., :-1], x)
    with pytest.raises(InvalidInputError, match="float32"):
        balanced_hue_accuracy(x.double(), x.double())
    with pytest.raises(InvalidInputError, match="channels"):
        balanced_hue_accuracy(x[:, :1], x[:, :1])
    with pytest.raises(InvalidInputError, match="shape"):
        balanced_hue_accuracy(x[0], x[0])


# --- wiring: the reports' evaluation, corpus photos opened upright, the Colorization tab's stats line -------------

class _ConstantColour(torch.nn.Module):
    """A stand-in colorizer: gray (N, 1, h, w) → scaled L*a*b* with the given a*, b* everywhere."""

    def __init__(self, a: float, b: float) -> None:
        super().__init__()
        self.ab = torch.tensor([a / 110.0, b / 110.0]).view(1, 2, 1, 1)

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        return torch.cat([gray * 2 - 1, self.ab.expand(gray.shape[0], 2, *gray.shape[-2:])], dim=1)


def test_evaluate_reports_hue_accuracy_per_photo_and_skips_photos_without_hue(tmp_path):
    from enhancers import imageio
    from enhancers.training.colorize import evaluate

    # evaluation halves the photos (Lanczos), so the bands are wide; the constant guess is yellow-brown
    two = imageio.save_png(tmp_path / "two.png", _image([(YELLOW_BROWN, 64), (BLUE, 64)], width=128))
    gray = imageio.save_png(tmp_path / "gray.png", _image([(NEUTRAL, 128)], width=128))
    res = evaluate(_ConstantColour(*YELLOW_BROWN[1:]), [two, gray])
    by_photo = {r["photo"]: r["hue_acc"] for r in res["photos"]}
    assert by_photo["two.png"] == pytest.approx(0.5, abs=0.02)  # band edges blur over a row or two
    assert math.isnan(by_photo["gray.png"])
    assert res["mean"]["hue_acc"] == pytest.approx(by_photo["two.png"], abs=1e-4)  # NaN left out, not counted as 0
    assert evaluate(_ConstantColour(0, 0), [two, gray])["mean"]["hue_acc"] == 0.0  # a gray guess is wrong
    pale = imageio.save_png(tmp_path / "pale.png", _image([((60.0, 0.0, -10.0), 128)], width=128))
    assert math.isnan(evaluate(_ConstantColour(0, 0), [pale])["mean"]["hue_acc"])  # no photo with a hue to score


def test_reports_score_corpus_photos_upright(tmp_path):
    from PIL import Image

    from enhancers.training.colorize import photo_name, prepare_photo
    from enhancers.training.corpus import CorpusPhoto

    arr = np.zeros((40, 80, 3), dtype=np.uint8)
    arr[:, :40] = (200, 30, 30)  # red on the left, as stored
    Image.fromarray(arr).save(tmp_path / "side.png")
    stored = CorpusPhoto(tmp_path / "side.png", "pkg/side.png", "pkg", "MIT", 80, 40, "small", 50.0, "g-0")
    turned = CorpusPhoto(tmp_path / "side.png", "pkg/side.png", "pkg", "MIT", 80, 40, "small", 50.0, "g-0", rotate=90)
    assert torch.equal(prepare_photo(stored, crop=None), data.prepare_hr(tmp_path / "side.png", crop=None))
    up = prepare_photo(turned, crop=None)
    assert up.shape == (1, 3, 40, 20)  # turned 90° clockwise, then halved
    assert float(up[0, 0, :16].mean()) > 0.7 and float(up[0, 0, -16:].mean()) < 0.1  # red now at the top
    assert photo_name(turned) == photo_name(tmp_path / "side.png") == "side.png"


def test_the_tab_stats_line_names_the_balanced_hue_accuracy():
    from ui.colorize import hue_accuracy_text

    truth = _image([(YELLOW_BROWN, 10), (BLUE, 10)])
    assert hue_accuracy_text(_image([(YELLOW_BROWN, 20)]), truth) == ("Balanced hue accuracy **50 %** "
                                                                       "(the gray image: 0 %)")
    assert hue_accuracy_text(truth, truth).startswith("Balanced hue accuracy **100 %**")
    assert "not scored" in hue_accuracy_text(truth, _image([(NEUTRAL, 20)]))


def test_the_reports_bars_include_hue_accuracy_and_a_nan_does_not_pass():
    from enhancers.training.colorize_nogan_report import HUE_BAR, bars, pct

    row = {"cf_ratio": 0.7, "rgb_psnr": 21.0, "gray_rgb_psnr": 20.0, "min_l_psnr": 50.0, "hue_acc": HUE_BAR}
    assert HUE_BAR == 0.55 and bars(row) == {"colourfulness": True, "rgb_psnr": True, "lightness": True,
                                             "hue_accuracy": True}
    assert bars(row | {"hue_acc": 0.549})["hue_accuracy"] is False
    assert bars(row | {"hue_acc": float("nan")})["hue_accuracy"] is False
    assert (pct(0.487), pct(float("nan")), pct(None)) == ("49 %", "—", "—")


def test_chosen_gain_is_the_smallest_reaching_the_colourfulness_bar():
    from enhancers.training.colorize_nogan_report import CF_BAR, chosen_gain

    sweep = [{"gain": 1.0, "cf_ratio": CF_BAR - 0.2}, {"gain": 1.3, "cf_ratio": CF_BAR + 0.01},
             {"gain": 1.45, "cf_ratio": CF_BAR + 0.1}]
    assert chosen_gain(sweep) == 1.3
    assert chosen_gain(sweep[:1]) == 1.0  # none reaches it: the largest tried
    assert chosen_gain([{"gain": 1.0, "cf_ratio": CF_BAR}]) == 1.0
