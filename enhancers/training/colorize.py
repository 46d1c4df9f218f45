"""Train and evaluate the bundled colorization U-Net on CPU (or a GPU when present).

Protocol: the colour photos of the photo corpus's training split
(:func:`enhancers.training.corpus.corpus_split` ``("color").train``, opened upright with
:func:`~enhancers.training.corpus.open_photo`; it holds the 27 photos the shipped models were trained on,
among them the colour scikit-image training photos and the two ``data/extra-photos``) are resized to short
sides 256, 320 and 400; each step draws random crops with horizontal flips. Input: NTSC gray; target: L*a*b*
scaled to [−1, 1]. Loss: L1 on a*b* (+ 0.1 × L1 on L*), optionally + λ × |colourfulness(pred) − colourfulness(target)|
(Hasler & Süsstrunk 2003, on the 0–1 scale). Adam with a cosine decay over a fixed
wall-clock budget (``--minutes``), fixed seed.

Evaluation: held-out photos (the corpus's colour held-out split, :func:`heldout_photos`) prepared as for
super-resolution (Lanczos ↓2, centre crop ≤ 512), made gray with NTSC, colorized with the full pipeline of
:mod:`enhancers.colorize`, compared with the original. The curve during training uses the first four
(the scikit-image evaluation photos), as earlier runs did.
"""

from __future__ import annotations

import io
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import colorize as pipeline
from ..archs.color_unet import ColorUNet
from ..archs.color_vgg_unet import ColorVGGUNet
from ..color_metrics import ab_error, balanced_hue_accuracy, colourfulness, lightness_psnr, rgb_psnr
from ..lab import gray_to_rgb, lab_scaled_to_rgb, ntsc_gray, rgb_to_lab_scaled
from ..specs import WEIGHTS_DIR
from . import data
from .checkpoints import save_weights
from .corpus import CorpusPhoto, corpus_split, open_photo
from .runs import LossMeans, cosine_lr

EXTRA_DIR = data.DATA_DIR.parent / "extra-photos"
# scikit-image colour photos outside the SR split's held-out set (motorcycle_right is the
# other view of the stereo pair whose left view is a training photo).
SKIMAGE_EXTRA_TRAIN = ("motorcycle_right.png",)
POOL_SHORT_SIDES = (256, 320, 400)  # the photo scales the bundled models were first trained at
COLOUR_THRESHOLD = 5.0  # photos less colourful than this (0–255 scale) count as gray
L_WEIGHT = 0.1


@dataclass
class ColorConfig:
    out_name: str
    minutes: float
    encoder: str = "imagenet"  # "imagenet" or "scratch" (arch mobilenet)
    arch: str = "mobilenet"  # one of ARCHS
    cf_weight: float = 0.0  # λ of the colourfulness term; 0 = plain L1
    batch: int = 12
    crop: int = 128
    lr: float = 5e-4
    encoder_lr: float | None = None  # default: lr; 0 freezes the encoder
    seed: int = 0
    threads: int = 1
    eval_minutes: float = 5.0
    run_dir: str = "runs"
    weights_dir: str = str(WEIGHTS_DIR)
    init: str | None = None  # safetensors to start from (a second, warm-restarted cosine cycle)
    bf16: bool = False  # bfloat16 autocast for forward passes on CPU (parameters stay float32)
    pool_sides: tuple[int, ...] = POOL_SHORT_SIDES  # short sides the training photos are resized to


ARCHS = ("mobilenet", "vgg16")  # ColorUNet (MobileNetV2 encoder, trained) or ColorVGGUNet (frozen VGG16)


def new_model(arch: str, init: str | None = None, encoder: str = "imagenet") -> torch.nn.Module:
    """A colorizer to train: ``arch`` (one of :data:`ARCHS`), from ``init`` weights or ImageNet encoder weights."""
    from safetensors.torch import load_file

    if arch == "vgg16":
        from ..pretrained import vgg16_features_imagenet

        model = ColorVGGUNet(vgg16_features_imagenet())
        if init:
            model.load_trained_state_dict(load_file(init))
        return model
    if arch != "mobilenet":
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    model = ColorUNet()
    if init:
        model.load_state_dict(load_file(init))
    elif encoder == "imagenet":
        from ..pretrained import mobilenet_v2_imagenet

        model.load_imagenet_encoder(mobilenet_v2_imagenet())
    return model


def extra_photos() -> list[Path]:
    """Extra offline colour photos (``scripts/fetch_color_photos.sh``), sorted; never evaluated on."""
    return data.photos_in(EXTRA_DIR)


def training_photos() -> list[CorpusPhoto]:
    """Colour photos to train on: the training split of the photo corpus for colour
    (:func:`~enhancers.training.corpus.corpus_split` ``("color")``: colourfulness ≥ 5, sorted by id), which holds
    the earlier training photos, ``motorcycle_right`` and the ``data/extra-photos``.

    Raises:
        MissingDataError: the corpus is not fetched (``make photos``).
        RuntimeError: a training photo is also a held-out or check photo (a broken manifest).
    """
    split = corpus_split("color")
    barred = {p.path.resolve() for p in split.heldout} | {p.resolve() for p in check_photos()}
    for p in split.train:
        if p.path.resolve() in barred:
            raise RuntimeError(f"{p.id} is a held-out or check photo and must not be trained on")
    return list(split.train)


def heldout_photos() -> list[CorpusPhoto]:
    """The colour corpus's held-out photos (:func:`~enhancers.training.corpus.corpus_split` ``("color")``, 72
    when the corpus is fetched; they include the 11 colour held-out photos of :func:`data.split`).

    Raises:
        MissingDataError: the corpus is not fetched (``make photos``).
    """
    return list(corpus_split("color").heldout)


def photo_name(photo: CorpusPhoto | Path | str) -> str:
    """The file name of a corpus photo or a path (how the reports name photos)."""
    return photo.path.name if isinstance(photo, CorpusPhoto) else Path(photo).name


def prepare_photo(photo: CorpusPhoto | Path | str, crop: int | None = 512, multiple: int = 4) -> torch.Tensor:
    """:func:`data.prepare_hr` of a path, or of a corpus photo turned upright first
    (:func:`~enhancers.training.corpus.open_photo`; a turned photo is handed over as a lossless PNG in memory).
    RGB float32 ``(1, 3, H, W)`` in [0, 1]."""
    if not isinstance(photo, CorpusPhoto):
        return data.prepare_hr(Path(photo), crop=crop, multiple=multiple)
    if not photo.rotate:
        return data.prepare_hr(photo.path, crop=crop, multiple=multiple)
    buf = io.BytesIO()
    open_photo(photo, "color").save(buf, "PNG")
    buf.seek(0)
    return data.prepare_hr(buf, crop=crop, multiple=multiple)


def _open_rgb(photo: CorpusPhoto | Path | str) -> Image.Image:
    """A corpus photo upright (:func:`~enhancers.training.corpus.open_photo`), or the file at a path, as RGB."""
    if isinstance(photo, CorpusPhoto):
        return open_photo(photo, "color")
    return Image.open(photo).convert("RGB")


def _pool(photos, short_sides: tuple[int, ...] = POOL_SHORT_SIDES) -> list[list[torch.Tensor]]:
    """Per photo (a :class:`~enhancers.training.corpus.CorpusPhoto`, opened upright, or a path), uint8
    ``(3, H, W)`` copies at each of ``short_sides`` (pixels; never above the photo's own)."""
    pool = []
    for p in photos:
        im = _open_rgb(p)
        versions = []
        for short in short_sides:
            f = min(1.0, short / min(im.size))
            size = (max(1, round(im.width * f)), max(1, round(im.height * f)))
            versions.append(torch.from_numpy(np.asarray(im.resize(size, Image.Resampling.LANCZOS)).copy())
                            .permute(2, 0, 1).contiguous())
        pool.append(versions)
    return pool


def _batch(pool, cfg: ColorConfig, rng: random.Random) -> torch.Tensor:
    crops = []
    for _ in range(cfg.batch):
        img = rng.choice(rng.choice(pool))
        c = min(cfg.crop, img.shape[1], img.shape[2])
        y = rng.randrange(0, img.shape[1] - c + 1)
        x = rng.randrange(0, img.shape[2] - c + 1)
        crop = img[:, y:y + c, x:x + c]
        if c < cfg.crop:
            crop = F.interpolate(crop[None].float(), size=(cfg.crop, cfg.crop), mode="bilinear")[0].round().byte()
        if rng.random() < 0.5:
            crop = crop.flip(2)
        crops.append(crop)
    return torch.stack(crops).float() / 255


def loss_terms(pred: torch.Tensor, target: torch.Tensor, cf_weight: float) -> dict[str, torch.Tensor]:
    """The training loss and its parts for predictions and targets, L*a*b* scaled ``(N, 3, H, W)``."""
    l1_ab = (pred[:, 1:] - target[:, 1:]).abs().mean()
    l1_l = (pred[:, :1] - target[:, :1]).abs().mean()
    terms = {"l1_ab": l1_ab, "l1_l": l1_l}
    total = l1_ab + L_WEIGHT * l1_l
    if cf_weight:
        # Colour with the target's lightness, so the term only sees the predicted chroma.
        pred_rgb = lab_scaled_to_rgb(torch.cat([target[:, :1], pred[:, 1:]], dim=1))
        tgt_rgb = lab_scaled_to_rgb(target)
        cf = (colourfulness(pred_rgb) - colourfulness(tgt_rgb)).abs().mean() / 255.0
        terms["cf"] = cf
        total = total + cf_weight * cf
    terms["loss"] = total
    return terms


@torch.no_grad()
def evaluate(model: torch.nn.Module, paths, short_side: int = pipeline.WORK_SIZE, crop: int | None = 512,
             ensemble: bool = False, reduction: str = "chroma", with_lpips: bool = False) -> dict:
    """Held-out colorization metrics of ``model`` (gray → scaled L*a*b*) and of the gray baseline.

    ``paths``: corpus photos (:class:`~enhancers.training.corpus.CorpusPhoto`, evaluated upright) or paths.
    Per photo: lightness PSNR (output L* vs gray L*, dB), colourfulness of original and
    output, RGB PSNR and mean a*b* error of output and of the gray image against the
    original, and the balanced hue accuracy of the output (``hue_acc``, a fraction; the gray image's is 0 by
    definition; NaN for a photo without a pixel of chroma > 15). ``cf_ratio`` sums colourfulness over colour
    photos only; photos that are exactly gray (infinite PSNR for the gray image) are left out of the PSNR means,
    photos without a hue to score out of the ``hue_acc`` mean (NaN when no photo has one).
    ``ensemble``: the app's test-time ensemble (:func:`enhancers.colorize.predict_ab`), combined by
    ``reduction``. ``with_lpips``: also LPIPS (AlexNet, Zhang et al. 2018) of output and gray image.
    """
    was_training = model.training
    model.eval()
    rows = []
    for p in paths:
        hr = prepare_photo(p, crop=crop, multiple=4)
        gray = ntsc_gray(hr)
        gray_rgb = gray_to_rgb(gray)
        gray_rgb = gray_rgb.mul(255).round().div(255)  # the 8-bit gray image a user would upload
        ab = pipeline.predict_ab(model, ntsc_gray(gray_rgb), short_side, ensemble=ensemble, reduction=reduction)
        out = pipeline.combine(ntsc_gray(gray_rgb), ab)
        rows.append({"photo": photo_name(p),
                     "l_psnr": lightness_psnr(out, gray_rgb),
                     "cf_orig": float(colourfulness(hr)[0]), "cf_out": float(colourfulness(out)[0]),
                     "rgb_psnr": rgb_psnr(out, hr), "gray_rgb_psnr": rgb_psnr(gray_rgb, hr),
                     "ab_err": ab_error(out, hr), "gray_ab_err": ab_error(gray_rgb, hr),
                     "hue_acc": balanced_hue_accuracy(out, hr)})
        if with_lpips:
            from ..perceptual import lpips

            rows[-1] |= {"lpips": lpips(out, hr), "gray_lpips": lpips(gray_rgb, hr)}
    model.train(was_training)
    keys = ("l_psnr", "ab_err", "gray_ab_err") + (("lpips", "gray_lpips") if with_lpips else ())
    mean = {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in keys}
    mean |= colour_means(rows)
    mean["min_l_psnr"] = round(min(r["l_psnr"] for r in rows), 4)
    return {"mean": mean, "photos": rows}


def colour_means(rows: list[dict]) -> dict:
    """The colour summary of per-photo rows (keys ``rgb_psnr``, ``gray_rgb_psnr``, ``cf_orig``, ``cf_out``,
    ``hue_acc``): mean RGB PSNR of output and gray over the photos that are not exactly gray, the colourfulness
    ratio over colour photos, and the mean balanced hue accuracy over photos with a hue to score (NaN if none)."""
    finite = [r for r in rows if math.isfinite(r["gray_rgb_psnr"])]
    mean = {k: round(sum(r[k] for r in finite) / len(finite), 4) for k in ("rgb_psnr", "gray_rgb_psnr")}
    colour = [r for r in rows if r["cf_orig"] >= COLOUR_THRESHOLD]
    mean["cf_ratio"] = round(sum(r["cf_out"] for r in colour) / max(1e-9, sum(r["cf_orig"] for r in colour)), 4)
    hue = [r["hue_acc"] for r in rows if math.isfinite(r["hue_acc"])]
    mean["hue_acc"] = round(sum(hue) / len(hue), 4) if hue else float("nan")
    return mean


CHECK_DIR = data.DATA_DIR.parent / "check-photos"


def check_photos() -> list[Path]:
    """Independent check photos (``scripts/fetch_color_photos.sh``): never trained on, never used to choose."""
    return data.photos_in(CHECK_DIR)


def train(cfg: ColorConfig) -> dict:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    run = Path(cfg.run_dir) / cfg.out_name
    run.mkdir(parents=True, exist_ok=True)
    log = open(run / "train.log", "a", buffering=1)
    photos = training_photos()
    curve_photos = data.split().heldout[:4]  # the scikit-image evaluation photos, as in earlier runs' curves
    pool = _pool(photos, tuple(cfg.pool_sides))
    model = new_model(cfg.arch, cfg.init, cfg.encoder).to(device).train()
    enc_params = list(model.encoder.parameters())
    enc_ids = {id(p) for p in enc_params}
    other = [p for p in model.parameters() if id(p) not in enc_ids]
    groups = [{"params": other, "base_lr": cfg.lr}]
    if cfg.encoder_lr == 0 or cfg.arch == "vgg16":  # a frozen encoder keeps its ImageNet features (its batch-norm statistics still adapt)
        model.encoder.requires_grad_(False)
    else:
        groups.append({"params": enc_params, "base_lr": cfg.encoder_lr or cfg.lr})
    opt = torch.optim.Adam(groups)
    nparams = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.write(f"config {json.dumps(asdict(cfg))} params {nparams} train_photos {len(photos)}: "
              f"{[p.id for p in photos]}\n")
    budget = cfg.minutes * 60
    curve: list[dict] = []
    t0 = time.time()
    next_eval = cfg.eval_minutes * 60
    means = LossMeans(log, 25, digits=5)
    step = 0
    while True:
        elapsed = time.time() - t0
        if elapsed >= budget:
            break
        step += 1
        for g in opt.param_groups:
            g["lr"] = cosine_lr(g["base_lr"], elapsed / budget)
        rgb = _batch(pool, cfg, rng).to(device)
        target = rgb_to_lab_scaled(rgb)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            pred = model(ntsc_gray(rgb))
        terms = loss_terms(pred.float(), target, cfg.cf_weight)
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        means.update(step, terms, time.time() - t0)
        if time.time() - t0 >= next_eval:
            next_eval += cfg.eval_minutes * 60
            res = evaluate(model.cpu(), curve_photos, crop=384)
            model.to(device)
            curve.append({"step": step, "elapsed_s": round(time.time() - t0), **res["mean"]})
            log.write(f"eval {json.dumps(curve[-1])}\n")
            save_weights(model, run / f"step{step:06d}.safetensors")
    train_s = round(time.time() - t0)
    model = model.cpu().eval()
    out = Path(cfg.weights_dir) / f"{cfg.out_name}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, out, metadata={"steps": str(step), "encoder": cfg.encoder, "cf_weight": str(cfg.cf_weight)})
    final = evaluate(model, heldout_photos())
    summary = {"config": asdict(cfg), "params": nparams, "steps": step, "train_seconds": train_s,
               "train_photos": [p.id for p in photos], "weights": str(out), "curve": curve, "final": final}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.write(f"final {json.dumps(final['mean'])}\n")
    log.close()
    return summary


CORPUS_NOTE = ("Debian `mate-backgrounds` nature photos, GPL-2+; `lomiri-wallpapers-16.04`, CC-BY-4.0 / CC-BY-SA-4.0 / "
               "CC0-1.0 per file; scikit-image sample photos")
