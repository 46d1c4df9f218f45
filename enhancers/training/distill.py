"""Distil Real-ESRGAN x4plus (the teacher) into the bundled compact enhancement generators (the students).

Knowledge distillation for image restoration: the student learns to reproduce the teacher's output on the same
degraded input, rather than the clean photo (Hinton et al. 2015, https://arxiv.org/abs/1503.02531, applied to
super-resolution as in Gao et al. 2018, https://arxiv.org/abs/1812.02571). The teacher's output already has
the texture and clean edges a GAN learns slowly; the student needs only to copy it.

Two steps:

1. :func:`make_targets`: crops of training photos, degraded by the project's second-order pipeline (the
   ``mixed`` mixture of :mod:`enhancers.training.enhance`), are run once through the teacher (×4); each shard of
   ``runs/distill-targets/`` holds the degraded crops (uint8 ``(N, 3, p, p)``), the teacher's ×4 outputs
   (uint8 ``(N, 3, 4p, 4p)``) and the clean crops at ×2 (uint8 ``(N, 3, 2p, 2p)``), as safetensors.
2. :func:`train`: the student (SRVGGNetCompact at ×2, or at the same size) learns L1, optionally plus the VGG16
   perceptual loss, EnhanceNet's texture loss, LPIPS and an adversarial term, towards the teacher's output reduced
   to its scale with Lanczos (as the Enhance tab does), ignoring a border where the teacher saw zero padding.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file

from .. import degrade
from ..perceptual import lpips_model
from ..precision import CpuBf16
from ..self_ensemble import DIHEDRAL, dihedral
from ..specs import WEIGHTS_DIR
from .checkpoints import save_weights
from .enhance import (
    DEGRADATIONS,
    PERCEPTUAL_LAYERS,
    EnhanceConfig,
    VGGLosses,
    _pick_degradation,
    build_generator,
    srvgg_conv_indices,
)
from .gan import discriminator_step, ema_update, frozen_copy
from .runs import LossMeans, cosine_lr, start_run, training_device

TEACHER = "enhance/realesrgan-x4plus"
TARGETS_DIR = Path(__file__).resolve().parents[2] / "runs" / "distill-targets"
SHARD = 128  # crops per shard file
BORDER = 6  # LR pixels next to the crop edge where the teacher saw zero padding: left out of the loss


@dataclass
class TargetConfig:
    crops: int = 2048
    lr_patch: int = 64
    seed: int = 0
    threads: int = 2
    precision: str = "bf16"  # the teacher's CPU precision for the targets (within 3 levels of fp32, 69 vs 116 s/MP)
    out_dir: str = str(TARGETS_DIR)


def training_photos() -> list:
    """The restoration models' training photos: the corpus's ``restore`` training split
    (:func:`enhancers.training.corpus.corpus_split`; lossy and small photos are halved when opened, clean ones are
    used at full size). Raises MissingDataError when the corpus is not fetched."""
    from .corpus import corpus_split

    return list(corpus_split("restore").train)


def rescale_last_conv(state: dict[str, torch.Tensor], from_scale: int, to_scale: int) -> dict[str, torch.Tensor]:
    """SRVGGNetCompact weights at ×``from_scale`` → ×``to_scale`` (a divisor), whose output is exactly the original
    output reduced by (from/to)² box averaging: pixel shuffle puts channel ``c·r² + i·r + j`` at sub-pixel (i, j),
    so averaging the last convolution's weights over each block of sub-pixels is that reduction, and the
    nearest-upsampled skip averages to the nearest-upsampled skip at the new scale.

    Raises:
        ValueError: ``to_scale`` does not divide ``from_scale``, or the last convolution's channels do not match.
    """
    if from_scale % to_scale:
        raise ValueError(f"×{to_scale} must divide ×{from_scale}")
    convs = srvgg_conv_indices(state)
    if not convs:
        raise ValueError("expected SRVGGNetCompact weights (body.N.weight convolutions), found none")
    last = f"body.{convs[-1]}.weight"
    weight, bias = state[last], state[last.replace(".weight", ".bias")]
    r, f = from_scale, from_scale // to_scale
    if weight.shape[0] % (r * r):
        raise ValueError(f"{last} has {weight.shape[0]} output channels, not a multiple of {r}²")
    c = weight.shape[0] // (r * r)
    w = weight.reshape(c, to_scale, f, to_scale, f, *weight.shape[1:]).mean((2, 4))
    b = bias.reshape(c, to_scale, f, to_scale, f).mean((2, 4))
    out = dict(state)
    out[last] = w.reshape(c * to_scale * to_scale, *weight.shape[1:]).contiguous()
    out[last.replace(".weight", ".bias")] = b.reshape(-1).contiguous()
    return out


def deepen(state: dict[str, torch.Tensor], num_conv: int) -> dict[str, torch.Tensor]:
    """SRVGGNetCompact weights with ``num_conv`` body convolutions instead of their own count, computing exactly
    the same function: each new 3×3 convolution is the identity (centre tap 1 on its own channel, bias 0) and its
    PReLU has slope 1, so it passes its input through until training shapes it. The new layers are spread
    evenly among the original ones, so the added capacity sits at every depth.

    Raises:
        ValueError: not SRVGGNetCompact weights, or ``num_conv`` is below the state's count.
    """
    convs = srvgg_conv_indices(state)
    if len(convs) < 2 or convs != list(range(0, 2 * len(convs), 2)):
        raise ValueError("expected SRVGGNetCompact weights (body.0, body.2, … convolutions), found "
                         f"{[f'body.{i}' for i in convs][:6]}")
    have = len(convs) - 2  # minus the first and the last convolution
    if num_conv < have:
        raise ValueError(f"cannot deepen {have} body convolutions to {num_conv}")
    feat = state["body.0.weight"].shape[0]
    ident = torch.zeros(feat, feat, 3, 3)
    ident[torch.arange(feat), torch.arange(feat), 1, 1] = 1
    identity_layer = (ident, torch.zeros(feat), torch.ones_like(state["body.1.weight"]))
    extra = num_conv - have
    layers = [] if have else [identity_layer] * extra
    for i in range(have):
        layers.append(tuple(state[f"body.{j}.{n}"] for j, n in ((2 + 2 * i, "weight"), (2 + 2 * i, "bias"),
                                                                  (3 + 2 * i, "weight"))))
        layers += [identity_layer] * (extra // have + (i < extra % have))
    out = {k: v for k, v in state.items() if k in ("body.0.weight", "body.0.bias", "body.1.weight")}
    for i, (w, b, a) in enumerate(layers):
        out[f"body.{2 + 2 * i}.weight"], out[f"body.{2 + 2 * i}.bias"] = w, b
        out[f"body.{3 + 2 * i}.weight"] = a
    last = 2 + 2 * have
    out[f"body.{2 + 2 * num_conv}.weight"] = state[f"body.{last}.weight"]
    out[f"body.{2 + 2 * num_conv}.bias"] = state[f"body.{last}.bias"]
    return {k: v.contiguous() for k, v in out.items()}


def _body_convs(state: dict[str, torch.Tensor]) -> int:
    """The number of 3×3 body convolutions between an SRVGGNetCompact's first and last ones."""
    return len(srvgg_conv_indices(state)) - 2


def merge_parallel(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor],
                   weight: float) -> dict[str, torch.Tensor]:
    """One wider SRVGGNetCompact computing ``(1 − weight) · first(x) + weight · second(x)`` exactly: the two
    networks side by side (channels concatenated, middle convolutions block-diagonal, PReLU slopes concatenated;
    the shallower one deepened with identity layers, :func:`deepen`), and the last convolution reading both
    halves with their weights. Each network adds the same nearest-upsampled input at the end, so weights summing to
    1 add it once. The off-diagonal blocks start at zero: training on from here uses them as extra width.

    ``first``, ``second``: SRVGGNetCompact state dicts of the same scale factor (any widths and depths).

    Raises:
        ValueError: ``weight`` outside [0, 1], not SRVGGNetCompact weights, or the scale factors differ.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    depth = max(_body_convs(first), _body_convs(second))
    a, b = deepen(first, depth), deepen(second, depth)
    last = f"body.{2 + 2 * depth}"
    if a[f"{last}.weight"].shape[0] != b[f"{last}.weight"].shape[0]:
        raise ValueError(f"the networks' scale factors differ: {a[f'{last}.weight'].shape[0]} and "
                         f"{b[f'{last}.weight'].shape[0]} output channels")
    fa, fb = a["body.0.weight"].shape[0], b["body.0.weight"].shape[0]
    out = {"body.0.weight": torch.cat([a["body.0.weight"], b["body.0.weight"]]),
           "body.0.bias": torch.cat([a["body.0.bias"], b["body.0.bias"]])}
    for i in range(depth + 1):
        out[f"body.{1 + 2 * i}.weight"] = torch.cat([a[f"body.{1 + 2 * i}.weight"], b[f"body.{1 + 2 * i}.weight"]])
    for i in range(1, depth + 1):
        w = torch.zeros(fa + fb, fa + fb, 3, 3)
        w[:fa, :fa], w[fa:, fa:] = a[f"body.{2 * i}.weight"], b[f"body.{2 * i}.weight"]
        out[f"body.{2 * i}.weight"] = w
        out[f"body.{2 * i}.bias"] = torch.cat([a[f"body.{2 * i}.bias"], b[f"body.{2 * i}.bias"]])
    out[f"{last}.weight"] = torch.cat([(1 - weight) * a[f"{last}.weight"], weight * b[f"{last}.weight"]], dim=1)
    out[f"{last}.bias"] = (1 - weight) * a[f"{last}.bias"] + weight * b[f"{last}.bias"]
    return {k: v.contiguous() for k, v in out.items()}


def merge_files(first: str, partner: str, weight: float, out_name: str) -> dict:
    """:func:`merge_parallel` of two weights files (paths or registered model ids), saved as
    ``weights/<out_name>.safetensors``; returns what was written (path, channels, body convolutions)."""
    state = merge_parallel(load_file(_weights_file(first)), load_file(_weights_file(partner)), weight)
    out_path = WEIGHTS_DIR / f"{out_name}.safetensors"
    tmp = out_path.with_suffix(".partial")  # never a half-written weights file under the final name
    save_file(state, str(tmp), metadata={"stage": "merge", "first": Path(first).name,
                                         "partner": Path(partner).name, "partner_weight": f"{weight:g}"})
    tmp.replace(out_path)
    return {"out": str(out_path), "num_feat": int(state["body.0.weight"].shape[0]),
            "num_conv": _body_convs(state), "partner_weight": weight}


def _photo_pool(photos: list, min_side: int) -> list[torch.Tensor]:
    """uint8 ``(3, H, W)`` images: each corpus photo as :func:`~enhancers.training.corpus.open_photo` gives it for
    restoration (upright, lossy ones halved), then halved again while above 1400 px (more scales, and 4K photos
    do not crowd out the rest)."""
    from .corpus import open_photo

    pool = []
    for photo in photos:
        im = open_photo(photo, "restore")
        while min(im.size) >= min_side:
            pool.append(torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous())
            if max(im.size) <= 1400:
                break
            im = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
    return pool


def make_targets(cfg: TargetConfig, photos: list, log=print) -> dict:
    """Degrade random crops of ``photos`` and run the teacher on them once; writes shards to ``cfg.out_dir``
    (resumable: existing shards are kept) and returns a summary (crops, megapixels of teacher output, seconds).

    ``photos``: :class:`~enhancers.training.corpus.CorpusPhoto` training photos (:func:`training_photos`).
    Raises :class:`~enhancers.errors.ModelUnavailableError` when the teacher cannot be loaded.
    """
    from ..loader import load_model
    from ..runner import run_model

    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # The spec keeps fp32 for users (bf16 moved 2 values in 589,824 by 3 levels); for training targets bf16
    # (the app's CpuBf16 wrapper: autocast in channels_last) is close enough and 1.7× faster.
    teacher = load_model(TEACHER, precision="fp32")
    if cfg.precision == "bf16" and teacher.device.type == "cpu":  # on a GPU the loader's own half precision runs
        teacher = dataclasses.replace(teacher, module=CpuBf16(copy.deepcopy(teacher.module)).eval(),
                                      precision="bf16")
    hr_p = cfg.lr_patch * 2
    pool = _photo_pool(photos, hr_p)
    weights = [math.sqrt(t.shape[1] * t.shape[2]) for t in pool]  # big photos weigh more, not quadratically more
    shards = math.ceil(cfg.crops / SHARD)
    started, done_mp = time.time(), 0.0
    for s in range(shards):
        path = out / f"shard-{s:04d}.safetensors"
        if path.is_file():
            continue
        rng, np_rng = random.Random(cfg.seed * 100003 + s), np.random.default_rng(cfg.seed * 100003 + s)
        lqs, t4s, hrs = [], [], []
        for _ in range(SHARD):
            img = rng.choices(pool, weights=weights)[0]
            y, x = rng.randrange(img.shape[1] - hr_p + 1), rng.randrange(img.shape[2] - hr_p + 1)
            hr = dihedral(img[None, :, y:y + hr_p, x:x + hr_p].float() / 255, rng.choice(DIHEDRAL))
            conf = DEGRADATIONS[_pick_degradation(EnhanceConfig("gan", "", 0, degradation="mixed"), rng)]
            lq = degrade.second_order(hr, 2, np_rng, conf)
            t4 = run_model(teacher, lq, out_dtype=torch.uint8)
            lqs.append(lq.mul(255).round().to(torch.uint8))
            t4s.append(t4)
            hrs.append(hr.mul(255).round().to(torch.uint8))
            done_mp += t4.shape[-1] * t4.shape[-2] / 1e6
        tmp = path.with_suffix(".partial")
        save_file({"lq": torch.cat(lqs), "teacher_x4": torch.cat(t4s), "hr_x2": torch.cat(hrs)}, str(tmp))
        tmp.rename(path)
        log(f"shard {s + 1}/{shards}: {done_mp:.1f} MP of teacher output in {time.time() - started:.0f} s",
            flush=True)
    this_run = {"config": asdict(cfg), "teacher": TEACHER, "teacher_from": teacher.weights_from,
                "teacher_precision": teacher.precision, "teacher_device": str(teacher.device), "photos": len(photos),
                "pool_images": len(pool), "teacher_output_mp": round(done_mp, 2), "seconds": round(time.time() - started)}
    # A later run with more crops (or a larger photo pool) adds shards: each run's cost is kept.
    path = out / "summary.json"
    runs = json.loads(path.read_text())["runs"] if path.is_file() else []
    runs.append(this_run)
    summary = {"crops": len(list(out.glob("shard-*.safetensors"))) * SHARD,
               "teacher_output_mp": round(sum(r["teacher_output_mp"] for r in runs), 2),
               "seconds": sum(r["seconds"] for r in runs), "runs": runs}
    path.write_text(json.dumps(summary, indent=1))
    return summary


def _weights_file(init: str) -> str:
    """``init`` as a file path, or a registered model id's weights file (e.g. ``sr/realesr-animevideov3``)."""
    if Path(init).is_file():
        return init
    from ..loader import weights_path
    from ..registry import get_spec

    return str(weights_path(get_spec(init)))


def _shards(folder: Path) -> Iterator[dict[str, torch.Tensor]]:
    """Every ``shard-*.safetensors`` in ``folder``, in name order, each read when reached (one shard in memory at a
    time).

    Raises: FileNotFoundError, at once, where there is none."""
    paths = sorted(Path(folder).glob("shard-*.safetensors"))
    if not paths:
        raise FileNotFoundError(f"no distillation targets in {folder}: run `distill --stage targets` first")
    return (load_file(str(path)) for path in paths)


def _lanczos_u8(crops: torch.Tensor, like: torch.Tensor, scale: int) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` crops resized to ``scale`` times the size of ``like`` (uint8 ``(N, 3, h, w)``) with
    Pillow's Lanczos on the 8-bit image, one by one: uint8 ``(N, 3, h·scale, w·scale)``."""
    from .. import imageio

    size = (like.shape[-1] * scale, like.shape[-2] * scale)
    return torch.cat([imageio.resize(c[None].float() / 255, size, "lanczos", out_dtype=torch.uint8) for c in crops])


def load_targets(folder: Path, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All shards: degraded crops uint8 ``(N, 3, p, p)`` and the teacher's output reduced to ×``scale`` with
    Pillow's Lanczos on the 8-bit image, as the Enhance tab reduces the teacher's ×4 result
    (:func:`enhancers.enhance.generate`), uint8 ``(N, 3, p·s, p·s)``."""
    lqs, targets = [], []
    for sh in _shards(folder):
        lqs.append(sh["lq"])
        targets.append(_lanczos_u8(sh["teacher_x4"], sh["lq"], scale))
    return torch.cat(lqs), torch.cat(targets)


def load_clean(folder: Path, scale: int) -> torch.Tensor:
    """All shards' clean crops (the photo before degradation, stored at ×2) at the student's scale ×``scale``:
    uint8 ``(N, 3, p·s, p·s)``, in the order of :func:`load_targets`; ×1 is Pillow's Lanczos on the 8-bit image."""
    return torch.cat([sh["hr_x2"] if scale == 2 else _lanczos_u8(sh["hr_x2"], sh["lq"], scale)
                      for sh in _shards(folder)])


@dataclass
class DistillConfig:
    out_name: str
    minutes: float
    scale: int = 2
    num_feat: int = 64
    num_conv: int = 16
    init: str | None = None
    init_scale: int | None = None  # the init's scale when it differs (×4 weights → rescale_last_conv)
    batch: int = 16
    lr: float = 2e-4
    perceptual_weight: float = 0.0
    # LPIPS (VGG16 v0.1) towards the teacher's output: the feature loss above matches activations with L1, which a
    # small student meets by averaging the teacher's texture away; LPIPS's unit-normalised, human-weighted channels
    # ask for the texture itself. The reports score LPIPS with AlexNet, so the loss is not the metric.
    lpips_weight: float = 0.0
    # EnhanceNet's texture loss towards the teacher (per-patch Gram matrices of VGG16's relu1_2, relu2_2, relu3_3;
    # :class:`~enhancers.training.enhance.VGGLosses`): the student must match the statistics of the teacher's
    # grain and foliage, not its exact pixels, which it is too small to reproduce and so averages away under L1.
    texture_weight: float = 0.0
    texture_layer_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    # Adversarial distillation: a U-Net discriminator (Real-ESRGAN's, spectrally normalised) told the teacher's
    # outputs (or the clean crops, `gan_real`) from the student's, so the student learns texture statistics rather
    # than their mean.
    gan_weight: float = 0.0
    d_lr: float = 4e-4
    d_input_gain: float = 4.0  # see UNetDiscriminatorSN: lets the spectrally normalised critic learn sooner
    d_warmup_steps: int = 0  # discriminator-only steps against the frozen student first (as NoGAN)
    # What the discriminator is told is real: the teacher's outputs ("teacher"), or the clean photo crops ("clean",
    # Real-ESRGAN's own recipe) while L1 and the feature losses still pull towards the teacher.
    gan_real: str = "teacher"
    init_disc: str | None = None
    ema_decay: float = 0.999  # with a GAN term the saved student is the exponential moving average
    threads: int = 2
    device: str = "cpu"  # or "cuda", "auto" (CUDA when available): the cached targets move there whole
    seed: int = 0
    eval_every: int = 200
    run_dir: str = "runs"
    targets: str = str(TARGETS_DIR)
    heldout_fraction: float = 0.05  # shards' last crops kept to watch the L1 to the teacher


def train(cfg: DistillConfig) -> dict:
    """Train a student on cached teacher targets for ``cfg.minutes`` (cosine learning rate over the budget); saves
    ``weights/<out_name>.safetensors`` and ``runs/<out_name>/summary.json``."""
    if cfg.gan_real not in ("teacher", "clean"):
        raise ValueError(f"gan_real must be 'teacher' or 'clean', got {cfg.gan_real!r}")
    run, log, rng, _ = start_run(cfg.run_dir, cfg.out_name, cfg.seed, cfg.threads)
    device = training_device(cfg.device)
    lq_all, tgt_all = load_targets(Path(cfg.targets), cfg.scale)
    lq_all, tgt_all = lq_all.to(device), tgt_all.to(device)
    n_val = max(8, int(len(lq_all) * cfg.heldout_fraction))
    lq_val, tgt_val = lq_all[-n_val:].float() / 255, tgt_all[-n_val:].float() / 255
    lq_tr, tgt_tr = lq_all[:-n_val], tgt_all[:-n_val]
    real_tr = load_clean(Path(cfg.targets), cfg.scale)[:-n_val].to(device) if cfg.gan_real == "clean" else tgt_tr
    gen = build_generator(EnhanceConfig("gan", cfg.out_name, 0, scale=cfg.scale, num_feat=cfg.num_feat,
                                        num_conv=cfg.num_conv))
    if cfg.init:
        state = load_file(_weights_file(cfg.init))
        if cfg.init_scale and cfg.init_scale != cfg.scale:
            state = rescale_last_conv(state, cfg.init_scale, cfg.scale)
        gen.load_state_dict(deepen(state, cfg.num_conv))
    gen.to(device).train()
    opt = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
    vgg = (VGGLosses(cfg.texture_layer_weights if cfg.texture_weight > 0 else None).to(device)
           if cfg.perceptual_weight > 0 or cfg.texture_weight > 0 else None)
    lpips_vgg = lpips_model("vgg").to(device) if cfg.lpips_weight > 0 else None
    autocast = torch.autocast(device.type, dtype=torch.bfloat16)
    m = BORDER * cfg.scale
    disc = opt_d = None
    if cfg.gan_weight > 0:
        from ..archs.unet_discriminator import UNetDiscriminatorSN

        disc = UNetDiscriminatorSN(input_gain=cfg.d_input_gain).train()
        if cfg.init_disc:
            disc.load_state_dict(load_file(cfg.init_disc))
        disc.to(device)
        opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.d_lr, betas=(0.9, 0.99))
        ema = frozen_copy(gen)

    def sample() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Degraded crops, the teacher's outputs and what the discriminator calls real, one dihedral transform."""
        idx = torch.tensor(rng.sample(range(len(lq_tr)), cfg.batch), device=device)
        t = rng.choice(DIHEDRAL)
        return tuple(dihedral(x[idx].float() / 255, t) for x in (lq_tr, tgt_tr, real_tr))

    def val_l1() -> float:
        model = gen if disc is None else ema
        model.eval()
        with torch.no_grad(), autocast:
            out = torch.cat([model(lq_val[i:i + 16]).float() for i in range(0, len(lq_val), 16)])
        if disc is None:
            gen.train()
        return round(float((out.clamp(0, 1) - tgt_val)[..., m:-m, m:-m].abs().mean()), 5)

    log.write(f"config {json.dumps(asdict(cfg))} crops {len(lq_tr)} val {n_val} perceptual_layers "
              f"{list(PERCEPTUAL_LAYERS)} device {device}\n")
    curve = [{"step": 0, "elapsed_s": 0, "val_l1": val_l1()}]
    log.write(f"eval {json.dumps(curve[-1])}\n")
    means = LossMeans(log, 25)
    for i in range(cfg.d_warmup_steps if disc is not None else 0):
        lq, _, real = sample()
        with torch.no_grad(), autocast:
            out = gen(lq).float()[..., m:-m, m:-m]
        crop = (out.shape[-1] // 16) * 16
        real = real[..., m:-m, m:-m][..., :crop, :crop]
        d = discriminator_step(disc, opt_d, real, out[..., :crop, :crop], autocast)
        means.update(i + 1, {"warmup_d": d["loss"], "d_real": d["p_real"], "d_fake": d["p_fake"]}, 0.0)
    t0, step = time.time(), 0
    while True:
        step += 1
        progress = min(1.0, (time.time() - t0) / (cfg.minutes * 60))
        for g in opt.param_groups:
            g["lr"] = cosine_lr(cfg.lr, progress)
        lq, tgt, real = sample()
        with autocast:
            out = gen(lq)
        out = out.float()
        o, g_ = out[..., m:-m, m:-m], tgt[..., m:-m, m:-m]
        losses = {"l1": F.l1_loss(o, g_)}
        crop = (o.shape[-1] // 16) * 16  # VGG's and the discriminator's four halvings
        if vgg is not None:
            with autocast:
                feats = vgg(o[..., :crop, :crop], g_[..., :crop, :crop])
            losses["perceptual"] = cfg.perceptual_weight * feats["perceptual"].float()
            if "texture" in feats:
                losses["texture"] = cfg.texture_weight * feats["texture"].float()
        if lpips_vgg is not None:
            with autocast:
                losses["lpips"] = cfg.lpips_weight * lpips_vgg(o, g_).float().mean()
        if disc is not None:
            disc.requires_grad_(False)
            with autocast:
                fake_logits = disc(o[..., :crop, :crop]).float()
            losses["adv"] = cfg.gan_weight * F.binary_cross_entropy_with_logits(fake_logits,
                                                                               torch.ones_like(fake_logits))
        loss = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if disc is not None:
            disc.requires_grad_(True)
            d = discriminator_step(disc, opt_d, real[..., m:-m, m:-m][..., :crop, :crop], o[..., :crop, :crop],
                                   autocast)
            losses.update(d=d["loss"], d_real=d["p_real"], d_fake=d["p_fake"])
            ema_update(ema, gen, cfg.ema_decay)
        means.update(step, losses, time.time() - t0)
        last = progress >= 1.0
        if step % cfg.eval_every == 0 or last:
            curve.append({"step": step, "elapsed_s": round(time.time() - t0), "val_l1": val_l1()})
            log.write(f"eval {json.dumps(curve[-1])}\n")
            save_weights(gen if disc is None else ema, run / "latest.safetensors")
            if disc is not None:
                save_weights(disc, run / "disc.safetensors")
        if last:
            break
    out_path = WEIGHTS_DIR / f"{cfg.out_name}.safetensors"
    save_weights(gen if disc is None else ema, out_path,
                 metadata={"steps": str(step), "stage": "distill", "scale": str(cfg.scale), "teacher": TEACHER})
    summary = {"config": asdict(cfg), "steps_done": step, "train_seconds": round(time.time() - t0),
               "train_crops": len(lq_tr), "device": str(device),
               "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU", "curve": curve}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.write(f"done {json.dumps(curve[-1])}\n")
    log.close()
    return summary
