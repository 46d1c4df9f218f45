"""Johnson et al. (2016) feed-forward style network, with the key names of ``maze/FastStyleTransfer``.

Architecture (https://arxiv.org/abs/1603.08155, supplementary material): a 9×9
convolution, two stride-2 convolutions, residual blocks at 1/4 resolution, two
stride-2 transposed convolutions and a final 9×9 convolution. Every convolution
uses reflection padding and is followed by an affine InstanceNorm (except the
last). With ``upsample="resize"`` each transposed convolution is replaced by
nearest-neighbour ×2 upsampling and a 3×3 convolution (Odena et al. 2016,
https://distill.pub/2016/deconv-checkerboard/): a stride-2 transposed 3×3
convolution gives alternate output pixels different numbers of input taps, the
checkerboard a Gram-matrix loss can amplify; after a resize every pixel sees nine.
The module names (``ConvBlock``, ``ResidualBlock``, ``DeconvBlock``,
``conv_layer``, ``norm_layer``, ``conv_transpose``) match the Hub checkpoints, so
their state dicts load with ``strict=True``; this project's bundled networks use
the same layout with fewer channels and blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidInputError
from . import BuiltModel


class ConvLayer(nn.Module):
    """Reflection pad → convolution → optional affine InstanceNorm."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, norm: bool = True) -> None:
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel // 2)
        self.conv_layer = nn.Conv2d(cin, cout, kernel, stride)
        self.norm_layer = nn.InstanceNorm2d(cout, affine=True) if norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_layer(self.reflection_pad(x))
        return self.norm_layer(x) if self.norm_layer is not None else x


class ResidualLayer(nn.Module):
    """x + IN(conv(ReLU(IN(conv(x)))))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3, 1)
        self.relu = nn.ReLU()
        self.conv2 = ConvLayer(channels, channels, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x)))


class DeconvLayer(nn.Module):
    """Stride-2 transposed convolution (×2 upsampling) → affine InstanceNorm."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv_transpose = nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1)
        self.norm_layer = nn.InstanceNorm2d(cout, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm_layer(self.conv_transpose(x))


# _PHASE_ROWS[a, r, k] = 1 where, for output rows of parity a, row k of a 3×3 kernel over the nearest-upsampled map
# lands on row offset r − 1 of the low-resolution map (a = 0: offsets −1, 0, 0; a = 1: 0, 0, +1).
_PHASE_ROWS = torch.tensor([[[1., 0., 0.], [0., 1., 1.], [0., 0., 0.]],
                            [[0., 0., 0.], [1., 1., 0.], [0., 0., 1.]]])


class ResizeConvLayer(nn.Module):
    """Nearest-neighbour ×2 upsampling → reflection pad → 3×3 convolution → affine InstanceNorm.

    Computed without the upsampled map: each of the four output phases (row and column parity) is a 3×3
    convolution of the low-resolution input with summed kernel taps, and a pixel shuffle interleaves them.
    Reflection padding of a nearest-upsampled map equals replicate padding of the input, so the result is the
    same, while the largest intermediate is the output instead of a 4× copy of the input (at 1 MP, 32 channels:
    128 MB less, and as much again for its padded copy).
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(1)
        self.conv_layer = nn.Conv2d(cin, cout, 3, 1)
        self.norm_layer = nn.InstanceNorm2d(cout, affine=True)

    def phase_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The four phase kernels ``(4·cout, cin, 3, 3)`` (channel ``o·4 + 2a + b``) and their biases."""
        w, b = self.conv_layer.weight, self.conv_layer.bias
        rows = _PHASE_ROWS.to(w.device, w.dtype)
        phased = torch.einsum("ark,bsl,oikl->oabirs", rows, rows, w)
        return phased.reshape(-1, *w.shape[1:]), b.repeat_interleave(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.phase_weights()
        y = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight.to(x.dtype), bias.to(x.dtype))
        return self.norm_layer(F.pixel_shuffle(y, 2))

    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """The same layer computed literally (upsample, pad, convolve, normalise), for tests."""
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.norm_layer(self.conv_layer(self.reflection_pad(x)))


UPSAMPLING = {"transpose": DeconvLayer, "resize": ResizeConvLayer}


def resize_conv_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A ``upsample="transpose"`` state dict as a starting point for ``upsample="resize"``.

    Each transposed kernel ``(in, out, 3, 3)`` becomes the convolution kernel ``(out, in, 3, 3)``
    that it applies, spatially flipped; its scale changes, which the InstanceNorm after it absorbs.
    Every other tensor is kept. Used to continue training, not as an equivalent network.
    """
    out = {}
    for k, v in state.items():
        if ".conv_transpose." in k:
            k = k.replace(".conv_transpose.", ".conv_layer.")
            v = v.transpose(0, 1).flip(-1, -2).contiguous() if v.dim() == 4 else v
        out[k] = v
    return out


class JohnsonNet(nn.Module):
    """Image transformation network.

    ``forward`` maps RGB float32 ``(N, 3, H, W)`` in [0, 1] to RGB float32
    ``(N, 3, H', W')`` in [0, 1] (clamped), where ``H'``/``W'`` are ``H``/``W``
    rounded up to a multiple of 4 and cropped back. ``value_range`` is the pixel
    scale the weights were trained on (255 for the Hub checkpoints, 1 for ours):
    the input is multiplied by it and the output divided by it.

    Args:
        width: channels of the first convolution (32 in the paper); then 2× and 4×.
        res_blocks: number of residual blocks (5 in the paper).
        value_range: 255.0 or 1.0, see above.
        residual: add the input to the output (this project's networks: they start as the
            identity and learn only the change of style; the Hub networks have no such skip).
        upsample: ``"transpose"`` (the paper and the Hub networks) or ``"resize"`` (see the module notes).

    Raises:
        InvalidInputError: unknown ``upsample``.
    """

    def __init__(self, width: int = 32, res_blocks: int = 5, value_range: float = 255.0,
                 residual: bool = False, upsample: str = "transpose") -> None:
        super().__init__()
        if upsample not in UPSAMPLING:
            raise InvalidInputError(f"upsample must be one of {', '.join(UPSAMPLING)}, got {upsample!r}")
        up = UPSAMPLING[upsample]
        w = width
        self.value_range = value_range
        self.residual = residual
        self.ConvBlock = nn.Sequential(ConvLayer(3, w, 9, 1), nn.ReLU(), ConvLayer(w, 2 * w, 3, 2), nn.ReLU(),
                                       ConvLayer(2 * w, 4 * w, 3, 2), nn.ReLU())
        self.ResidualBlock = nn.Sequential(*(ResidualLayer(4 * w) for _ in range(res_blocks)))
        self.DeconvBlock = nn.Sequential(up(4 * w, 2 * w), nn.ReLU(), up(2 * w, w), nn.ReLU(),
                                         ConvLayer(w, 3, 9, 1, norm=False))

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """Unclamped output in units of [0, 1] for training (gradients flow past the range)."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:  # reflection padding keeps the down/up-sampling path aligned for any size
            x = nn.functional.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        y = self.DeconvBlock(self.ResidualBlock(self.ConvBlock(x * self.value_range))) / self.value_range
        if self.residual:
            y = y + x
        return y[..., :h, :w]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.raw(x).clamp(0, 1)


def infer_config(state: dict[str, torch.Tensor]) -> tuple[int, int]:
    """``(width, res_blocks)`` read from a state dict with the Hub key names.

    Raises:
        InvalidInputError: the keys are not those of this architecture.
    """
    key = "ConvBlock.0.conv_layer.weight"
    if key not in state:
        raise InvalidInputError(f"not a Johnson style network: key {key!r} missing "
                                f"(first keys: {', '.join(list(state)[:4])})")
    width = int(state[key].shape[0])
    blocks = len({k.split(".")[1] for k in state if k.startswith("ResidualBlock.")})
    return width, blocks


def build(state: dict[str, torch.Tensor] | None, width: int | None = None, res_blocks: int | None = None,
          value_range: float = 255.0, residual: bool = False, upsample: str = "transpose") -> BuiltModel:
    """Builder for ``arch="johnson"``: size read from the state dict when given, else from the arguments."""
    if state is not None:
        width, res_blocks = infer_config(state)
    net = JohnsonNet(width or 32, 5 if res_blocks is None else res_blocks, value_range, residual, upsample)
    if state is not None:
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise InvalidInputError(f"style network weights do not match the Johnson architecture: {e}") from e
    return BuiltModel(net.eval())
