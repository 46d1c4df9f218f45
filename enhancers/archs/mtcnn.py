"""MTCNN face detector (Zhang, Zhang, Li & Qiao 2016, "Joint Face Detection and Alignment using Multi-task Cascaded
Convolutional Networks", https://arxiv.org/abs/1604.02878), written for this project from the paper and the authors'
release; the weights are the authors' (see ``weights/mtcnn.md``), stored in ``weights/mtcnn.safetensors``.

Three small CNNs in a cascade, each seeing the image at 0–255 mapped to ``(x − 127.5) / 128``:

1. **P-Net** (proposal), fully convolutional, slides a 12×12 window with stride 2 over an image pyramid (scale step
   :data:`PYRAMID_FACTOR`, first level such that a :data:`MIN_FACE` px face fills 12 px). Each window gives a face
   probability and four box offsets. Windows above ``thresholds[0]`` become boxes; non-maximum suppression (NMS,
   IoU 0.5) per level, then IoU 0.7 over all levels; the offsets move the box edges; boxes are made square.
2. **R-Net** (refine) reads each box resampled to 24×24 (parts outside the photo are black), rejects those under
   ``thresholds[1]``, NMS 0.7, refines the edges, squares them again.
3. **O-Net** (output) reads 48×48 crops, keeps boxes over ``thresholds[2]``, places five landmarks (eyes, nose tip,
   mouth corners) and refines the box; a last NMS compares overlap with the smaller box (IoU "Min", 0.7).

Boxes follow the release's 1-based, inclusive pixel convention (a box from x1 to x2 is x2 − x1 + 1 px wide); the
landmarks come out in 0-based pixel coordinates (centre of the first pixel at 0). Resampling is area averaging.
The dense layers' weights expect their input flattened in (width, height, channel) order, a trace of the original
Caffe models, which ran on transposed (column-major) images.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UnsafeWeightsError
from . import BuiltModel

MIN_FACE = 20  # px: the smallest face looked for
THRESHOLDS = (0.6, 0.7, 0.7)  # P-, R- and O-Net face probability thresholds
PYRAMID_FACTOR = 0.709  # scale step between pyramid levels (≈ 1/√2)
NMS_LEVEL, NMS_STAGE, NMS_FINAL = 0.5, 0.7, 0.7  # IoU within a P-Net level, after a stage, and "Min" at the end
CHUNK = 512  # crops per R-/O-Net batch
_CELL, _STRIDE = 12, 2  # P-Net's window and stride, px of the pyramid level


def _normalise(x: torch.Tensor) -> torch.Tensor:
    """0–255 pixel values to the networks' input range, (x − 127.5) / 128."""
    return (x - 127.5) * 0.0078125


def _flatten_whc(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` → ``(N, W·H·C)`` in (width, height, channel) order, the order the dense weights expect."""
    return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)


class PNet(nn.Module):
    """Proposal network: three 3×3 convolutions (10, 16, 32 channels, PReLU; a 2×2 max-pool after the first), then
    two 1×1 heads. A 12×12 input gives one 1×1 output cell; larger inputs give one cell per 2 px.

    ``forward``: normalised float ``(N, 3, H, W)`` → ``(offsets (N, 4, H', W'), face probability (N, H', W'))``
    with ``H' = ⌈(H − 2) / 2⌉ − 4``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)  # face / not face
        self.conv4_2 = nn.Conv2d(32, 4, 1)  # box edge offsets

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 2, 2, ceil_mode=True)
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), self.conv4_1(x).softmax(1)[:, 1]


class RNet(nn.Module):
    """Refinement network on 24×24 crops: 3×3 convolutions with 28 and 48 channels (each followed by a 3×3 max-pool,
    stride 2), a 2×2 convolution with 64, a 128-unit dense layer, then a face head and a box head (PReLU throughout).

    ``forward``: normalised float ``(N, 3, 24, 24)`` → ``(offsets (N, 4), face probability (N,))``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(3 * 3 * 64, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = self.prelu4(self.dense4(_flatten_whc(self.prelu3(self.conv3(x)))))
        return self.dense5_2(x), self.dense5_1(x).softmax(1)[:, 1]


class ONet(nn.Module):
    """Output network on 48×48 crops: 3×3 convolutions with 32, 64 and 64 channels (max-pools 3×3/2, 3×3/2, 2×2/2),
    a 2×2 convolution with 128, a 256-unit dense layer, then face, box and landmark heads (PReLU throughout).

    ``forward``: normalised float ``(N, 3, 48, 48)`` → ``(offsets (N, 4), landmarks (N, 10), face probability
    (N,))``; the landmarks are the five x then the five y, as fractions of the box's width and height.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(3 * 3 * 128, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu3(self.conv3(x)), 2, 2, ceil_mode=True)
        x = self.prelu5(self.dense5(_flatten_whc(self.prelu4(self.conv4(x)))))
        return self.dense6_2(x), self.dense6_3(x), self.dense6_1(x).softmax(1)[:, 1]


class MTCNN(nn.Module):
    """The cascade of :class:`PNet`, :class:`RNet` and :class:`ONet` (module docstring).

    ``forward(rgb)``: RGB float ``(1, 3, H, W)`` in [0, 1] on the networks' device → ``(boxes, points)`` on the
    CPU: float32 ``(N, 5)`` rows ``x1, y1, x2, y2, probability`` (px; probability in [0, 1]) and float32
    ``(N, 5, 2)`` landmarks ``(x, y)`` in px (left eye, right eye, nose, mouth left, mouth right as seen in the
    image), in no particular order. Photos whose shorter side is under ``min_face`` px give no faces.

    Args:
        min_face: the smallest face looked for, px (≥ 12).
        thresholds: the three stages' probability thresholds, each in [0, 1].
        factor: pyramid scale step in (0, 1).
    """

    def __init__(self, min_face: int = MIN_FACE, thresholds: tuple[float, float, float] = THRESHOLDS,
                 factor: float = PYRAMID_FACTOR) -> None:
        super().__init__()
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()
        self.min_face, self.thresholds, self.factor = min_face, tuple(thresholds), factor

    def forward(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        none = torch.zeros(0, 5), torch.zeros(0, 5, 2)
        image = rgb[:1].to(self.pnet.conv1.weight) * 255
        boxes = self._propose(image)
        if len(boxes):
            boxes = self._refine(image, boxes)
        if not len(boxes):
            return none
        boxes, points = self._output(image, boxes)
        return boxes.float().cpu(), points.float().cpu()

    def scales(self, height: int, width: int) -> list[float]:
        """The pyramid's scale factors for a ``height × width`` photo, largest first (empty below ``min_face``)."""
        scale, side, out = _CELL / self.min_face, min(height, width) * _CELL / self.min_face, []
        while side >= _CELL:
            out.append(scale)
            scale, side = scale * self.factor, side * self.factor
        return out

    def _propose(self, image: torch.Tensor) -> torch.Tensor:
        """Stage 1: square boxes ``(M, 5)`` (x1, y1, x2, y2 truncated to integers; probability)."""
        h, w = image.shape[-2:]
        found = []
        for scale in self.scales(h, w):
            level = F.interpolate(image, size=(math.ceil(h * scale), math.ceil(w * scale)), mode="area")
            offsets, prob = self.pnet(_normalise(level))
            ys, xs = torch.nonzero(prob[0] >= self.thresholds[0], as_tuple=True)
            if not len(ys):
                continue
            cells = torch.stack([xs, ys, xs, ys], 1).to(image.dtype) * _STRIDE
            edges = torch.floor((cells + torch.tensor([1, 1, _CELL, _CELL]).to(cells)) / scale)
            cand = torch.cat([edges, prob[0, ys, xs, None], offsets[0, :, ys, xs].T], 1)
            found.append(cand[_nms(cand[:, :4], cand[:, 4], NMS_LEVEL)])
        if not found:
            return image.new_zeros(0, 5)
        cand = torch.cat(found)
        cand = cand[_nms(cand[:, :4], cand[:, 4], NMS_STAGE)]
        size = (cand[:, 2:4] - cand[:, 0:2]).repeat(1, 2)  # stage 1 moves edges by multiples of x2 − x1 (no +1)
        boxes = torch.cat([cand[:, :4] + cand[:, 5:9] * size, cand[:, 4:5]], 1)
        return _fix(_square(boxes))

    def _refine(self, image: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Stage 2: the boxes R-Net keeps, refined and squared (not yet truncated)."""
        offsets, prob = _batched(self.rnet, _crops(image, boxes, 24))
        keep = prob > self.thresholds[1]
        boxes = torch.cat([boxes[keep, :4], prob[keep, None]], 1)
        offsets = offsets[keep]
        pick = _nms(boxes[:, :4], boxes[:, 4], NMS_STAGE)
        return _square(_regress(boxes[pick], offsets[pick]))

    def _output(self, image: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stage 3: final boxes ``(N, 5)`` and landmarks ``(N, 5, 2)``."""
        boxes = _fix(boxes)
        offsets, marks, prob = _batched(self.onet, _crops(image, boxes, 48))
        keep = prob > self.thresholds[2]
        boxes = torch.cat([boxes[keep, :4], prob[keep, None]], 1)
        offsets, marks = offsets[keep], marks[keep]
        size = boxes[:, 2:4] - boxes[:, 0:2] + 1
        xs = marks[:, :5] * size[:, :1] + boxes[:, 0:1] - 1
        ys = marks[:, 5:] * size[:, 1:2] + boxes[:, 1:2] - 1
        points = torch.stack([xs, ys], 2)
        boxes = _regress(boxes, offsets)
        pick = _nms_min(boxes[:, :4], boxes[:, 4], NMS_FINAL)
        return boxes[pick], points[pick]


def _batched(net: nn.Module, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``net`` over normalised crops in chunks of :data:`CHUNK`, outputs concatenated."""
    outs = [net(_normalise(crops[i:i + CHUNK])) for i in range(0, len(crops), CHUNK)]
    return tuple(torch.cat(parts) for parts in zip(*outs, strict=True))


def _crops(image: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Each integer box (1-based, inclusive) cut from ``image`` (``(1, 3, H, W)``, 0–255), black outside the image,
    area-resampled to ``size × size``: ``(M, 3, size, size)``."""
    h, w = image.shape[-2:]
    out = image.new_zeros(len(boxes), 3, size, size)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, :4].long().tolist()):
        bw, bh = x2 - x1 + 1, y2 - y1 + 1
        if bw < 1 or bh < 1:
            continue
        tile = image.new_zeros(1, 3, bh, bw)
        sx0, sy0, sx1, sy1 = max(x1 - 1, 0), max(y1 - 1, 0), min(x2, w), min(y2, h)
        if sx0 < sx1 and sy0 < sy1:
            tile[..., sy0 - (y1 - 1):sy1 - (y1 - 1), sx0 - (x1 - 1):sx1 - (x1 - 1)] = image[..., sy0:sy1, sx0:sx1]
        out[k] = F.interpolate(tile, size=(size, size), mode="area")[0]
    return out


def _regress(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Move each edge by its offset times the box's width or height (x2 − x1 + 1, y2 − y1 + 1)."""
    size = (boxes[:, 2:4] - boxes[:, 0:2] + 1).repeat(1, 2)
    return torch.cat([boxes[:, :4] + offsets * size, boxes[:, 4:]], 1)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Grow each box to a square of side max(x2 − x1, y2 − y1) about its centre."""
    size = boxes[:, 2:4] - boxes[:, 0:2]
    side = size.max(1, keepdim=True).values
    start = boxes[:, 0:2] + size / 2 - side / 2
    return torch.cat([start, start + side, boxes[:, 4:]], 1)


def _fix(boxes: torch.Tensor) -> torch.Tensor:
    """Truncate the coordinates toward zero (the probability column is kept)."""
    return torch.cat([boxes[:, :4].trunc(), boxes[:, 4:]], 1)


def _nms(boxes: torch.Tensor, scores: torch.Tensor, iou: float) -> torch.Tensor:
    """Indices kept by greedy NMS at intersection-over-union ``iou``, with the inclusive (+1) pixel areas."""
    from torchvision.ops import nms

    if not len(boxes):
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    inclusive = boxes.float() + torch.tensor([0, 0, 1, 1], dtype=torch.float32, device=boxes.device)
    return nms(inclusive, scores.float(), iou)


def _nms_min(boxes: torch.Tensor, scores: torch.Tensor, overlap: float) -> torch.Tensor:
    """Greedy NMS where overlap is the intersection over the *smaller* box's area (inclusive pixels)."""
    order = scores.argsort(descending=True)
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    keep = []
    while len(order):
        i, rest = order[0], order[1:]
        keep.append(int(i))
        iw = (torch.minimum(boxes[i, 2], boxes[rest, 2]) - torch.maximum(boxes[i, 0], boxes[rest, 0]) + 1).clamp(min=0)
        ih = (torch.minimum(boxes[i, 3], boxes[rest, 3]) - torch.maximum(boxes[i, 1], boxes[rest, 1]) + 1).clamp(min=0)
        order = rest[iw * ih / torch.minimum(area[i], area[rest]) <= overlap]
    return torch.tensor(keep, dtype=torch.long, device=boxes.device)


def build(state_dict: dict[str, torch.Tensor] | None) -> BuiltModel:
    """The MTCNN cascade with its weights (keys ``pnet.*``, ``rnet.*``, ``onet.*``; the registry's
    ``facedetect/mtcnn`` reads them from ``weights/mtcnn.safetensors``). Runs in fp32 (0.5 M parameters; fp16
    would move the thresholds' decisions).

    Raises:
        UnsafeWeightsError: no weights, or their keys or shapes are not MTCNN's.
    """
    if state_dict is None:
        raise UnsafeWeightsError("the MTCNN detector needs its weights (weights/mtcnn.safetensors)")
    model = MTCNN()
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as e:
        raise UnsafeWeightsError(f"these are not MTCNN weights: {e}") from e
    return BuiltModel(model.eval())
