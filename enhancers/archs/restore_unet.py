"""Small conditional U-Nets for restoration, trained by this project on CPU.

* :class:`DenoiseUNet` — non-blind Gaussian denoiser in the design of FFDNet / DRUNet
  (Zhang et al., https://arxiv.org/abs/1710.04026, https://arxiv.org/abs/2008.13751):
  the noise level σ enters as a constant extra input map, so one network covers
  σ = 0…75 and the user controls the strength. As in FFDNet, the image is first
  pixel-unshuffled by 2, so the convolutions run at quarter resolution.
* :class:`JPEGUNet` — blind JPEG artifact removal in the design of FBCNN (Jiang et al.
  2021, https://arxiv.org/abs/2109.14573): a quality-factor (QF) predictor on pooled
  encoder features, and a decoder modulated by a QF embedding (a per-channel scale and
  shift), so the predicted QF can be overridden: a lower QF smooths more.

Both take and return RGB float32 ``(N, 3, H, W)`` in [0, 1] and predict a residual.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import BuiltModel


class ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


def _pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, h, w


class DenoiseUNet(nn.Module):
    """FFDNet-style non-blind denoiser on a three-level U-Net.

    ``forward(x, sigma)``: ``x`` is RGB float32 ``(N, 3, H, W)`` in [0, 1] with additive
    Gaussian noise; ``sigma`` is the noise standard deviation on the 0–255 scale, a float
    or a ``(N,)`` tensor. Returns the denoised image, same shape, not clamped. Any H, W
    (padded internally to a multiple of 8).
    """

    def __init__(self, channels: tuple[int, int, int] = (64, 96, 128), blocks: int = 1) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.head = nn.Conv2d(12 + 1, c1, 3, padding=1)
        self.enc1 = nn.Sequential(*[ResBlock(c1) for _ in range(blocks)])
        self.down1 = nn.Conv2d(c1, c2, 2, stride=2)
        self.enc2 = nn.Sequential(*[ResBlock(c2) for _ in range(blocks)])
        self.down2 = nn.Conv2d(c2, c3, 2, stride=2)
        self.body = nn.Sequential(*[ResBlock(c3) for _ in range(2 * blocks)])
        self.up2 = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.dec2 = nn.Sequential(*[ResBlock(c2) for _ in range(blocks)])
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.dec1 = nn.Sequential(*[ResBlock(c1) for _ in range(blocks)])
        self.tail = nn.Conv2d(c1, 12, 3, padding=1)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        x, h, w = _pad_to(x, 8)
        n = x.shape[0]
        level = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1).expand(n, 1, 1, 1)
        z = F.pixel_unshuffle(x, 2)
        z = torch.cat([z, (level / 255).expand(n, 1, *z.shape[-2:])], dim=1)
        e1 = self.enc1(self.head(z))
        e2 = self.enc2(self.down1(e1))
        b = self.body(self.down2(e2))
        d2 = self.dec2(self.up2(b) + e2)
        d1 = self.dec1(self.up1(d2) + e1)
        return (x - F.pixel_shuffle(self.tail(d1), 2))[..., :h, :w]


class JPEGUNet(nn.Module):
    """FBCNN-style flexible blind JPEG artifact remover, scaled down for CPU training.

    As in :class:`DenoiseUNet`, the image is pixel-unshuffled by 2 (8×8 JPEG blocks become
    4×4 blocks of a 12-channel half-size image) and a three-level U-Net runs there. A QF
    predictor reads the per-channel spatial standard deviation of every encoder level; a
    QF embedding gives each decoder level a per-channel scale and shift (FiLM).

    ``forward(x, qf=None)``: ``x`` is a decoded JPEG, RGB float32 ``(N, 3, H, W)`` in
    [0, 1] (grayscale JPEGs as three equal channels). ``qf`` overrides the predicted
    quality factor (1–100, a float or ``(N,)`` tensor); None uses the prediction.
    Returns ``(restored (N, 3, H, W), predicted QF (N,) in [0, 100])``. Any H, W (padded
    internally to a multiple of 8, the JPEG block size, which keeps blocks aligned).
    """

    def __init__(self, channels: tuple[int, int, int] = (64, 96, 128), embed: int = 64) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.channels = channels
        self.head = nn.Conv2d(12, c1, 3, padding=1)
        self.enc1 = ResBlock(c1)
        self.down1 = nn.Conv2d(c1, c2, 2, stride=2)
        self.enc2 = ResBlock(c2)
        self.down2 = nn.Conv2d(c2, c3, 2, stride=2)
        self.body = nn.Sequential(ResBlock(c3), ResBlock(c3))
        self.qf_head = nn.Sequential(nn.Linear(c1 + c2 + c3, 128), nn.ReLU(), nn.Linear(128, 1), nn.Sigmoid())
        self.qf_embed = nn.Sequential(nn.Linear(1, embed), nn.ReLU(), nn.Linear(embed, embed), nn.ReLU())
        self.film = nn.ModuleList([nn.Linear(embed, 2 * c) for c in (c3, c2, c1)])
        self.up2 = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.dec2 = ResBlock(c2)
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.dec1 = ResBlock(c1)
        self.tail = nn.Conv2d(c1, 12, 3, padding=1)
        # Optional piecewise-linear map from the raw prediction to QF (both 0–100), fitted on the
        # training photos after training (``python -m enhancers.training calibrate-qf``); empty = identity.
        self.register_buffer("qf_calib_x", torch.zeros(0))
        self.register_buffer("qf_calib_y", torch.zeros(0))

    def set_qf_calibration(self, raw: torch.Tensor, true: torch.Tensor) -> None:
        """Install the raw-prediction → QF table (increasing ``raw``, 0–100)."""
        self.qf_calib_x = raw.detach().float().clone()
        self.qf_calib_y = true.detach().float().clone()

    def calibrate(self, qf: torch.Tensor) -> torch.Tensor:
        """Map raw QF predictions (0–100) through the calibration table, clamped to its ends."""
        xs, ys = self.qf_calib_x.to(qf), self.qf_calib_y.to(qf)
        if xs.numel() < 2:
            return qf
        q = qf.clamp(xs[0], xs[-1])
        i = torch.searchsorted(xs, q.detach().contiguous()).clamp(1, xs.numel() - 1)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 + (q - x0) * (y1 - y0) / (x1 - x0).clamp_min(1e-6)

    @staticmethod
    def _modulate(z: torch.Tensor, film: torch.Tensor) -> torch.Tensor:
        gamma, beta = film.reshape(z.shape[0], 2, -1, 1, 1).unbind(1)
        return z * (1 + gamma) + beta

    def forward(self, x: torch.Tensor, qf: float | torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x, h, w = _pad_to(x, 8)
        n = x.shape[0]
        e1 = self.enc1(self.head(F.pixel_unshuffle(x, 2)))
        e2 = self.enc2(self.down1(e1))
        b = self.body(self.down2(e2))
        # Spatial standard deviations: how much structure (and blocking) each channel sees. Means
        # would not do: through the residual paths they mostly follow the image's average colour.
        pooled = torch.cat([e1.std(dim=(2, 3)), e2.std(dim=(2, 3)), b.std(dim=(2, 3))], dim=1)
        predicted = self.calibrate(self.qf_head(pooled).squeeze(1) * 100) / 100
        q = predicted if qf is None else (
            torch.as_tensor(qf, dtype=x.dtype, device=x.device).reshape(-1).expand(n) / 100)
        emb = self.qf_embed(q.reshape(n, 1).to(x.dtype))
        z = self._modulate(b, self.film[0](emb))
        z = self.dec2(self._modulate(self.up2(z) + e2, self.film[1](emb)))
        z = self.dec1(self._modulate(self.up1(z) + e1, self.film[2](emb)))
        return (x + F.pixel_shuffle(self.tail(z), 2))[..., :h, :w], predicted * 100


def _channels(state_dict: dict[str, torch.Tensor], keys: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(int(state_dict[k].shape[0]) for k in keys)


def build_denoiser(state_dict: dict[str, torch.Tensor] | None = None) -> BuiltModel:
    """Build :class:`DenoiseUNet`; widths and depth are read from the weights when given."""
    kwargs = {}
    if state_dict is not None:
        kwargs["channels"] = _channels(state_dict, ("head.weight", "down1.weight", "down2.weight"))
        kwargs["blocks"] = sum(1 for k in state_dict if k.startswith("enc1.") and k.endswith("conv1.weight"))
    model = DenoiseUNet(**kwargs)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return BuiltModel(model.eval(), supports_half=True, supports_bfloat16=True)


def build_dejpeg(state_dict: dict[str, torch.Tensor] | None = None) -> BuiltModel:
    """Build :class:`JPEGUNet`; widths are read from the weights when given."""
    kwargs = {}
    if state_dict is not None:
        kwargs["channels"] = _channels(state_dict, ("head.weight", "down1.weight", "down2.weight"))
        kwargs["embed"] = int(state_dict["qf_embed.0.weight"].shape[0])
    model = JPEGUNet(**kwargs)
    if state_dict is not None:
        state_dict = dict(state_dict)
        calib = [state_dict.pop(k, torch.zeros(0)) for k in ("qf_calib_x", "qf_calib_y")]
        model.set_qf_calibration(*calib)
        model.load_state_dict(state_dict, strict=False)
        missing = set(model.state_dict()) - set(state_dict) - {"qf_calib_x", "qf_calib_y"}
        if missing:
            raise KeyError(f"JPEG model weights lack {sorted(missing)[:5]}")
    return BuiltModel(model.eval(), supports_half=True, supports_bfloat16=True)
