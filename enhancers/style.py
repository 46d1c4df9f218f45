"""Neural style transfer: the Gatys et al. (2016) optimisation and fast feed-forward styles.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks",
CVPR 2016 (https://arxiv.org/abs/1508.06576): an image is optimised so that its CNN
features match the content photo's (content loss), the Gram matrices of its features
match the style image's (style loss), and neighbouring pixels stay similar (total
variation). Johnson, Alahi & Fei-Fei 2016 (https://arxiv.org/abs/1603.08155) train a
network to produce such an image in one pass (:func:`fast_stylize`).

Losses here are *relative*: each layer's squared error is divided by the squared norm
of its target, so one set of weights suits every feature network (their activation
scales differ by orders of magnitude) and every layer counts alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from . import imageio
from .device import compute_slot
from .errors import InvalidInputError
from .loader import load_model
from .registry import get_spec, list_specs, task_spec

TASK = "style"
FEATURE_TASK = "gatys"
DEFAULT_FEATURES = "gatys/vgg16"
DEFAULT_FAST = "style/rhythm"
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")
MAX_STEPS = 2000
MIN_SIZE, MAX_SIZE = 64, 1024


@dataclass(frozen=True)
class LayerChoice:
    """Default layers of a feature network: Gram (style) layers and content layers."""

    style: tuple[str, ...]
    content: tuple[str, ...]


# The paper's choice for VGG19 (style conv1_1–conv5_1 after ReLU, content conv4_2), and the
# offline hybrid's (issue 5): MobileNetV2 blocks 1, 3, 6, 10, 13 + random VGG19 relu1_1–relu3_1.
# VGG16 (offline default): Johnson et al. 2016's style layers; content at relu3_3, not relu4_2: on a
# held-out photo both gave the same style distances, relu3_3 kept more structure (SSIM 0.369 vs 0.332).
DEFAULT_LAYERS: dict[str, LayerChoice] = {
    "gatys/vgg16": LayerChoice(
        style=("vgg.relu1_2", "vgg.relu2_2", "vgg.relu3_3", "vgg.relu4_3"),
        content=("vgg.relu3_3",)),
    "gatys/hybrid": LayerChoice(
        style=("mobilenet.1", "mobilenet.3", "mobilenet.6", "mobilenet.10", "mobilenet.13",
               "vgg.relu1_1", "vgg.relu2_1", "vgg.relu3_1"),
        content=("mobilenet.6",)),
    "gatys/random-vgg19": LayerChoice(
        style=("vgg.relu1_1", "vgg.relu2_1", "vgg.relu3_1", "vgg.relu4_1", "vgg.relu5_1"),
        content=("vgg.relu4_2",)),
    "gatys/vgg19": LayerChoice(
        style=("vgg.relu1_1", "vgg.relu2_1", "vgg.relu3_1", "vgg.relu4_1", "vgg.relu5_1"),
        content=("vgg.relu4_2",)),
}


def available_layers(features: str) -> tuple[str, ...]:
    """Layer names a ``gatys/*`` network offers, without loading it.

    Raises:
        UnknownModelError: unknown id.
    """
    from .archs.style_features import MOBILENET_LAYERS, VGG16_LAYERS, VGG_LAYERS

    by_arch = {"style-hybrid": MOBILENET_LAYERS + VGG_LAYERS, "style-vgg16": VGG16_LAYERS}
    return by_arch.get(get_spec(features).arch, VGG_LAYERS)


def feature_networks() -> list[str]:
    """Ids of the registered Gatys feature networks, offline default first."""
    return [s.id for s in list_specs(FEATURE_TASK)]


def fast_models() -> list[str]:
    """Ids of the registered feed-forward style networks."""
    return [s.id for s in list_specs(TASK)]


# --- Losses ------------------------------------------------------------------------------------------------------

def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix of feature maps, the style representation of Gatys et al.

    ``G[n, i, j] = Σ_p F[n, i, p] · F[n, j, p] / (C · H · W)`` over the H·W positions p:
    channel co-activations averaged over the image, so they describe texture and colour
    statistics independent of where things are.

    Args:
        features: float ``(N, C, H, W)``.

    Returns:
        float ``(N, C, C)``, symmetric.

    Raises:
        InvalidInputError: not a 4-D tensor.
    """
    if features.ndim != 4:
        raise InvalidInputError(f"gram_matrix expects (N, C, H, W) features, got shape {tuple(features.shape)}")
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def relative_mse(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``‖x − target‖² / ‖target‖²`` per batch item, averaged: a scale-free squared error (0 = equal)."""
    dims = tuple(range(1, target.ndim))
    return ((x - target) ** 2).sum(dims).div(target.pow(2).sum(dims).clamp_min(1e-12)).mean()


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of vertically and horizontally adjacent pixels.

    Args:
        image: float ``(N, C, H, W)``, in [0, 1].

    Returns:
        scalar, in (0-255)-free units of [0, 1]² per pixel pair.
    """
    dy = (image[..., 1:, :] - image[..., :-1, :]).pow(2).mean()
    dx = (image[..., :, 1:] - image[..., :, :-1]).pow(2).mean()
    return dx + dy


@dataclass
class StyleTargets:
    """Precomputed targets: the style image's Gram matrices and the content image's features."""

    grams: dict[str, torch.Tensor]
    content: dict[str, torch.Tensor]


class PerceptualLoss:
    """Content, style and TV losses through a frozen feature network.

    Args:
        net: a :class:`enhancers.archs.style_features.FeatureNet`.
        style_layers / content_layers: layer names (see the network's ``layers``).
        content_weight / style_weight / tv_weight: loss weights (≥ 0).

    Raises:
        InvalidInputError: unknown layers, no layers, or negative weights.
    """

    def __init__(self, net: torch.nn.Module, style_layers: tuple[str, ...], content_layers: tuple[str, ...],
                 content_weight: float, style_weight: float, tv_weight: float) -> None:
        if not style_layers and not content_layers:
            raise InvalidInputError("choose at least one style or content layer")
        if min(content_weight, style_weight, tv_weight) < 0:
            raise InvalidInputError(f"loss weights must be ≥ 0, got content {content_weight}, style {style_weight}, "
                                    f"TV {tv_weight}")
        net.check_layers(tuple(style_layers) + tuple(content_layers))
        self.net = net
        self.style_layers = tuple(style_layers)
        self.content_layers = tuple(content_layers)
        self.weights = (content_weight, style_weight, tv_weight)

    def targets(self, content: torch.Tensor | None, style: torch.Tensor) -> StyleTargets:
        """Targets from the content image ``(N, 3, H, W)`` (or None) and the style image ``(1, 3, h, w)``."""
        with torch.no_grad():
            sf = self.net(style, self.style_layers) if self.style_layers else {}
            cf = self.net(content, self.content_layers) if (content is not None and self.content_layers) else {}
        return StyleTargets({k: gram_matrix(v) for k, v in sf.items()}, dict(cf))

    def __call__(self, image: torch.Tensor, targets: StyleTargets,
                 content_features: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Losses of ``image`` ``(N, 3, H, W)`` in [0, 1]: ``{"content", "style", "tv", "total"}`` scalars.

        ``content_features`` overrides the content targets (training: one target per batch item).
        """
        feats = self.net(image, set(self.style_layers) | set(self.content_layers))
        ctarget = content_features if content_features is not None else targets.content
        zero = image.new_zeros(())
        style = (sum(relative_mse(gram_matrix(feats[k]), targets.grams[k].expand(image.shape[0], -1, -1))
                     for k in self.style_layers) / len(self.style_layers)) if self.style_layers else zero
        content = (sum(relative_mse(feats[k], ctarget[k]) for k in self.content_layers)
                   / len(self.content_layers)) if self.content_layers else zero
        tv = tv_loss(image)
        wc, ws, wt = self.weights
        return {"content": content, "style": style, "tv": tv, "total": wc * content + ws * style + wt * tv}


# --- Colour helpers ------------------------------------------------------------------------------------------------

def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma Y of RGB ``(N, 3, H, W)`` in [0, 1] → ``(N, 1, H, W)`` in [0, 1]."""
    from kornia.color import rgb_to_ycbcr

    return rgb_to_ycbcr(rgb)[:, :1]


def with_luminance(y: torch.Tensor, colour_from: torch.Tensor) -> torch.Tensor:
    """RGB with luma ``y`` ``(N, 1, H, W)`` and the chroma (Cb, Cr) of ``colour_from`` ``(N, 3, H, W)``."""
    from kornia.color import rgb_to_ycbcr, ycbcr_to_rgb

    ycc = rgb_to_ycbcr(colour_from)
    return ycbcr_to_rgb(torch.cat([y, ycc[:, 1:]], 1)).clamp(0, 1)


def match_luminance(style_y: torch.Tensor, content_y: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style's luma to the content's mean and standard deviation (Gatys et al. 2016b)."""
    s_mean, s_std = style_y.mean(), style_y.std().clamp_min(1e-6)
    return ((style_y - s_mean) / s_std * content_y.std() + content_y.mean()).clamp(0, 1)


def resize_long_side(rgb: torch.Tensor, size: int) -> torch.Tensor:
    """Resize RGB ``(1, 3, H, W)`` so its longer side is ``size`` px (bicubic / Lanczos), aspect kept."""
    h, w = rgb.shape[-2:]
    s = size / max(h, w)
    new = (max(1, round(w * s)), max(1, round(h * s)))
    return rgb if new == (w, h) else imageio.resize(rgb, new, "lanczos" if s < 1 else "bicubic")


# --- Gatys optimisation ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GatysConfig:
    """Settings of one Gatys run.

    Attributes:
        steps: optimiser steps (one L-BFGS iteration or one Adam update each; 1–2000).
        size: working size: the content image's longer side in px (64–1024).
        optimizer: ``"lbfgs"`` (the paper's) or ``"adam"``.
        init: start from ``"content"`` or from ``"noise"`` (uniform, seeded).
        content_weight / style_weight / tv_weight: weights of the relative losses.
        style_layers / content_layers: layer names; None = the network's default
            (:data:`DEFAULT_LAYERS`).
        preserve_colors: transfer luminance only, keeping the content's colours.
        every: yield an intermediate image every this many steps.
        lr: Adam's learning rate (pixels in [0, 1]) or L-BFGS's step scale.
        seed: seeds the noise start.
        features: id of a ``gatys/*`` feature network.
    """

    steps: int = 100
    size: int = 256
    optimizer: str = "lbfgs"
    init: str = "content"
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 1.0
    style_layers: tuple[str, ...] | None = None
    content_layers: tuple[str, ...] | None = None
    preserve_colors: bool = False
    every: int = 10
    lr: float | None = None
    seed: int = 0
    features: str = DEFAULT_FEATURES

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` with expected vs given for any bad field."""
        if not 1 <= self.steps <= MAX_STEPS:
            raise InvalidInputError(f"steps must be 1–{MAX_STEPS}, got {self.steps}")
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise InvalidInputError(f"working size must be {MIN_SIZE}–{MAX_SIZE} px, got {self.size}")
        if self.optimizer not in OPTIMIZERS:
            raise InvalidInputError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.init not in INITS:
            raise InvalidInputError(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.every < 1:
            raise InvalidInputError(f"every must be ≥ 1, got {self.every}")
        spec = get_spec(self.features)
        if spec.task != FEATURE_TASK:
            raise InvalidInputError(f"{self.features} is a {spec.task} model, not a Gatys feature network "
                                    f"({', '.join(feature_networks())})")

    def layers(self) -> LayerChoice:
        d = DEFAULT_LAYERS[self.features]
        return LayerChoice(d.style if self.style_layers is None else tuple(self.style_layers),
                           d.content if self.content_layers is None else tuple(self.content_layers))


@dataclass
class LossHistory:
    """Per-step losses (after each step's update is measured before it, as the optimiser sees them)."""

    step: list[int] = field(default_factory=list)
    content: list[float] = field(default_factory=list)
    style: list[float] = field(default_factory=list)
    tv: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)

    def add(self, step: int, losses: dict[str, torch.Tensor]) -> None:
        self.step.append(step)
        for k in ("content", "style", "tv", "total"):
            getattr(self, k).append(float(losses[k]))

    def rows(self) -> list[tuple[int, str, float]]:
        """Long format ``(step, loss name, value)`` for plotting."""
        return [(s, k, getattr(self, k)[i]) for i, s in enumerate(self.step) for k in ("content", "style", "tv",
                                                                                      "total")]


@dataclass(frozen=True)
class GatysStep:
    """One streamed update.

    Attributes:
        step: steps done so far (0 = the starting image).
        image: RGB float32 ``(1, 3, h, w)`` in [0, 1] at the working size (colours
            restored when ``preserve_colors``).
        history: losses so far (shared, growing object: copy it to keep a snapshot).
        done: the last update of the run (all steps done, or stopped).
        seconds: wall time since the start.
    """

    step: int
    image: torch.Tensor
    history: LossHistory
    done: bool
    seconds: float


def gatys(content: torch.Tensor, style: torch.Tensor, config: GatysConfig = GatysConfig(),
          should_stop: Callable[[], bool] | None = None) -> Iterator[GatysStep]:
    """Run the Gatys optimisation, yielding the image every ``config.every`` steps and at the end.

    Args:
        content: RGB float32 ``(1, 3, H, W)`` in [0, 1]; resized to ``config.size`` on its longer side.
        style: RGB float32 ``(1, 3, h, w)`` in [0, 1]; resized to the same longer side.
        config: see :class:`GatysConfig`.
        should_stop: polled after every step; True ends the run early (with a final update).

    Yields:
        :class:`GatysStep`, first at step 0.

    Raises:
        InvalidInputError: bad images or settings, or a loss that became NaN.
        UnknownModelError, ModelUnavailableError: the feature network cannot be loaded
            (e.g. the Hub VGG19 while offline).
    """
    import time

    imageio.check_image_tensor(content, name="content image")
    imageio.check_image_tensor(style, name="style image")
    config.validate()
    for name, t in (("content", content), ("style", style)):
        if min(t.shape[-2:]) < 16:
            raise InvalidInputError(f"the {name} image must be at least 16 px per side, got "
                                    f"{t.shape[-1]}×{t.shape[-2]}")
    started = time.perf_counter()
    loaded = load_model(config.features)
    net = loaded.module
    layers = config.layers()
    loss_fn = PerceptualLoss(net, layers.style, layers.content, config.content_weight, config.style_weight,
                             config.tv_weight)
    c = resize_long_side(content.float(), config.size)
    s = resize_long_side(style.float(), config.size)
    colour = c
    if config.preserve_colors:
        cy = luminance(c)
        c = cy.expand(-1, 3, -1, -1).contiguous()
        s = match_luminance(luminance(s), cy).expand(-1, 3, -1, -1).contiguous()
    dev = loaded.device
    c, s, colour = c.to(dev, loaded.dtype), s.to(dev, loaded.dtype), colour.to(dev, loaded.dtype)
    targets = loss_fn.targets(c, s)
    if config.init == "content":
        x = c.clone()
    else:
        g = torch.Generator().manual_seed(config.seed)
        x = torch.rand(c.shape, generator=g).to(dev, loaded.dtype)
    x.requires_grad_(True)
    if config.optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS([x], lr=config.lr or 1.0, max_iter=1, history_size=20)
    else:
        opt = torch.optim.Adam([x], lr=config.lr or 0.02)
    history = LossHistory()

    def output() -> torch.Tensor:
        img = x.detach().float().clamp(0, 1)
        if config.preserve_colors:
            img = with_luminance(luminance(img), colour.float())
        return img.cpu()

    with torch.no_grad():
        history.add(0, loss_fn(x, targets))
    yield GatysStep(0, output(), history, False, time.perf_counter() - started)
    last: dict[str, torch.Tensor] = {}

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        losses = loss_fn(x, targets)
        losses["total"].backward()
        last.update({k: v.detach() for k, v in losses.items()})
        return losses["total"]

    for step in range(1, config.steps + 1):
        with compute_slot():  # per step, never across a yield
            opt.step(closure)
        with torch.no_grad():
            x.clamp_(0, 1)
        if not math.isfinite(float(last["total"])):
            raise InvalidInputError(f"the loss became {float(last['total'])} at step {step}; lower the learning "
                                    "rate or the style weight")
        history.add(step, last)
        stop = bool(should_stop and should_stop())
        done = step == config.steps or stop
        if done or step % config.every == 0:
            yield GatysStep(step, output(), history, done, time.perf_counter() - started)
        if stop:
            return


def evaluate_losses(image: torch.Tensor, content: torch.Tensor, style: torch.Tensor,
                    features: str = DEFAULT_FEATURES, content_weight: float = 1.0, style_weight: float = 10.0,
                    tv_weight: float = 1.0) -> dict[str, float]:
    """The Gatys losses of a finished image against a content and a style image.

    ``image`` and ``content`` are RGB float32 ``(1, 3, H, W)`` in [0, 1] of one size;
    ``style`` any size (resized to the content's longer side). Uses the feature network's
    default layers. Returns ``{"content", "style", "tv", "total"}`` floats.
    """
    cfg = GatysConfig(features=features)
    cfg.validate()
    layers = cfg.layers()
    loaded = load_model(features)
    fn = PerceptualLoss(loaded.module, layers.style, layers.content, content_weight, style_weight, tv_weight)
    s = resize_long_side(style.float(), max(content.shape[-2:]))
    with torch.no_grad():
        t = fn.targets(content.float(), s)
        return {k: float(v) for k, v in fn(image.float(), t).items()}


# --- Fast feed-forward styles ---------------------------------------------------------------------------------------

@torch.inference_mode()
def fast_stylize(rgb: torch.Tensor, model_id: str = DEFAULT_FAST, strength: float = 1.0) -> torch.Tensor:
    """Stylise a photo in one pass with a Johnson et al. network.

    The network runs on the whole image at once: its InstanceNorm layers normalise
    with statistics of the entire image, so tiles would each get their own colour
    balance and show seams.

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1], any size the pixel limit allows.
        model_id: a ``style/*`` id (:func:`fast_models`).
        strength: 0–1; the result is ``strength · stylised + (1 − strength) · rgb``.

    Returns:
        RGB float32 ``(1, 3, H, W)`` in [0, 1].

    Raises:
        InvalidInputError: bad image, strength outside [0, 1], or not a style model.
        UnknownModelError, ModelUnavailableError, UnsafeWeightsError: loading failed.
    """
    imageio.check_image_tensor(rgb)
    if not 0.0 <= strength <= 1.0:
        raise InvalidInputError(f"style strength must be in [0, 1], got {strength}")
    spec = task_spec(model_id, TASK, f"a fast style network ({', '.join(fast_models())})")
    spec.check_size(*rgb.shape[-2:])
    loaded = load_model(model_id)
    with compute_slot():
        out = loaded.module(rgb.to(loaded.device, loaded.dtype)).float().cpu()
    if strength < 1.0:
        out = out * strength + rgb * (1.0 - strength)
    return out.clamp_(0, 1)


def colour_stats(rgb: torch.Tensor) -> torch.Tensor:
    """Mean and standard deviation of L*, a*, b* of RGB ``(1, 3, H, W)`` in [0, 1] → float ``(6,)``."""
    from kornia.color import rgb_to_lab

    lab = rgb_to_lab(rgb.float().clamp(0, 1))
    return torch.cat([lab.mean((0, 2, 3)), lab.std((0, 2, 3))])
