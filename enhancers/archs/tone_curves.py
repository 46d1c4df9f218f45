"""Auto-tone: a small CNN looks at a thumbnail and predicts one global tone curve per colour channel.

Like Zero-DCE (Guo et al. 2020, https://arxiv.org/abs/2001.06826) the network only predicts curve parameters
from a downsampled image, and the curves are applied at full resolution, so the cost does not grow with the
photo. Zero-DCE's curves x + αx(1 − x) keep 0 and 1 fixed and cannot undo a faded black point; these are
monotone piecewise-linear curves with ``knots`` segments (a learnt 1-D LUT per channel, as in Zeng et al.
2020's image-adaptive LUTs), whose output range may start above 0 and end below 1, or clip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import BuiltModel

THUMB = 64  # thumbnail edge the network sees
HIST_BINS = 32
SCENE_THUMB = 160  # thumbnail edge the optional ImageNet scene encoder sees
SCENE_FEATURES = 1280  # MobileNetV2's pooled feature width


def channel_histograms(rgb: torch.Tensor, bins: int = HIST_BINS) -> torch.Tensor:
    """Per-channel histograms of RGB ``(N, 3, H, W)`` in [0, 1], each summing to 1: float32 ``(N, 3·bins)``."""
    idx = (rgb.clamp(0, 1) * (bins - 1)).round().long().flatten(2)
    hist = torch.zeros(rgb.shape[0], 3, bins, dtype=torch.float32, device=rgb.device)
    hist.scatter_add_(2, idx, torch.ones_like(idx, dtype=torch.float32))
    return (hist / idx.shape[-1]).flatten(1)


def identity_curve(points: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The curve that changes nothing, sampled as the curves are: its values at ``points`` evenly spaced inputs
    0, 1/(points − 1), …, 1, float ``(points,)`` in [0, 1]."""
    return torch.linspace(0, 1, points, dtype=dtype)


def lookup_curves(x: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """Differentiable per-channel piecewise-linear lookup.

    Args:
        x: float32 ``(N, 3, H, W)`` in [0, 1].
        curves: float32 ``(N, 3, K + 1)``: each curve's values at the K + 1 evenly spaced inputs 0, 1/K, …, 1.

    Returns:
        float32 ``(N, 3, H, W)`` in [0, 1].
    """
    k = curves.shape[-1] - 1
    xs = x.clamp(0, 1) * k
    i = xs.detach().floor().clamp_(max=k - 1).long()
    frac = xs - i
    flat = i.flatten(2)
    lo = torch.gather(curves, 2, flat).view_as(x)
    hi = torch.gather(curves, 2, flat + 1).view_as(x)
    return (lo + frac * (hi - lo)).clamp(0, 1)


def apply_curves(rgb: torch.Tensor, curves: torch.Tensor, rows_per_chunk: int = 256) -> torch.Tensor:
    """:func:`lookup_curves` on a photo of any size, ``rows_per_chunk`` rows at a time to bound memory.

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].
        curves: float32 ``(1, 3, K + 1)``.

    Returns:
        RGB float32 ``(1, 3, H, W)`` in [0, 1].
    """
    out = torch.empty_like(rgb)
    c = curves.to(rgb.dtype)
    for y in range(0, rgb.shape[-2], rows_per_chunk):
        out[:, :, y:y + rows_per_chunk] = lookup_curves(rgb[:, :, y:y + rows_per_chunk], c)
    return out


class ToneCurveNet(nn.Module):
    """Predicts three monotone tone curves from a 64×64 thumbnail and the channel histograms.

    ``forward`` maps RGB float32 ``(N, 3, H, W)`` in [0, 1] to curves float32 ``(N, 3, knots + 1)`` in [0, 1]
    (see :func:`apply_curves`). A zero-initialised head starts at the identity curve.

    With ``scene=True`` the network also sees what the photo shows: the pooled features of a frozen ImageNet
    MobileNetV2 (Sandler et al. 2018, https://arxiv.org/abs/1801.04381) on a 160×160 thumbnail, projected and
    added to the hidden layer, meant to tell a sunset's chosen warmth or a gray wall from a colour cast or a wrong
    exposure, which a thumbnail's histograms cannot. The projection starts at zero, so a scene network started
    from a plain one's weights first gives the same curves. Trained on this project's corpus it did worse than
    the plain network and is not shipped (``weights/tone-curves.md``); the option stays for that experiment.
    """

    def __init__(self, knots: int = 16, width: int = 32, scene: bool = False) -> None:
        super().__init__()
        self.knots = knots
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 3, 2, 1), nn.LeakyReLU(0.1),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.LeakyReLU(0.1),
            nn.Conv2d(2 * w, 2 * w, 3, 2, 1), nn.LeakyReLU(0.1),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.LeakyReLU(0.1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.mlp = nn.Sequential(nn.Linear(4 * w + 3 * HIST_BINS, 128), nn.LeakyReLU(0.1))
        self.scene: nn.Module | None = None
        if scene:
            from torchvision.models import mobilenet_v2

            self.scene = mobilenet_v2().features.requires_grad_(False)
            self.scene_proj = nn.Linear(SCENE_FEATURES, 128)
            nn.init.zeros_(self.scene_proj.weight)
            nn.init.zeros_(self.scene_proj.bias)
        # Per channel: knots increments (softmax-shaped) + where the curve starts and ends.
        self.head = nn.Linear(128, 3 * (knots + 2))
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def train(self, mode: bool = True) -> ToneCurveNet:
        super().train(mode)
        if self.scene is not None:
            self.scene.eval()  # frozen: its batch-norm statistics stay ImageNet's
        return self

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        thumb = F.interpolate(rgb, size=(THUMB, THUMB), mode="area")
        feats = torch.cat([self.features(thumb * 2 - 1), channel_histograms(thumb)], dim=1)
        hidden = self.mlp[0](feats)
        if self.scene is not None:
            from ..pretrained import imagenet_normalize

            with torch.no_grad():
                small = F.interpolate(rgb, size=(SCENE_THUMB, SCENE_THUMB), mode="area")
                scene = self.scene(imagenet_normalize(small)).mean(dim=(2, 3))
            hidden = hidden + self.scene_proj(scene)
        p = self.head(self.mlp[1](hidden)).view(-1, 3, self.knots + 2)
        start = 0.25 * torch.tanh(p[..., 0:1])  # a black point below 0 clips the shadows
        end = 1 + 0.25 * torch.tanh(p[..., 1:2])
        steps = torch.softmax(p[..., 2:], dim=-1)
        curve = start + (end - start) * torch.cat([torch.zeros_like(start), steps.cumsum(-1)], dim=-1)
        return curve.clamp(0, 1)


def build(state_dict: dict[str, torch.Tensor] | None, knots: int = 16, width: int = 32,
          scene: bool = False) -> BuiltModel:
    """:class:`ToneCurveNet` with ``state_dict`` loaded (random weights when None)."""
    model = ToneCurveNet(knots=knots, width=width, scene=scene)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return BuiltModel(model.eval())
