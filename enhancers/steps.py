"""Restoration steps: one task with its options, run on a decoded photo.

Each single-task CLI command (``sr``, ``enhance``, ``denoise``, ``dejpeg``, ``colorize``, fast ``style``)
runs exactly one :class:`Step` through :func:`run_step`, and the ``batch`` command runs a chain of them
through :func:`run_chain`, so a chain gives the same pixels as the commands run one after another.

A chain is written as text, steps separated by commas, options by colons::

    dejpeg,denoise,sr:x2
    denoise:sigma=15:model=denoise/unet
    enhance:x2:tone:fidelity=0.5
    enhance:x1:tone_strength=0.6
    enhance:x2:tone_model=tone/curves

``xN`` is short for ``scale=N``, and a boolean option alone (``tone``) means ``tone=true``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from . import imageio
from .errors import InvalidInputError
from .imageio import LoadedImage
from .tiling import Progress

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _boolean(raw: str) -> bool:
    low = raw.lower()
    if low in _TRUE | _FALSE:
        return low in _TRUE
    raise ValueError("expects true or false")


def _number(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError("expects a number") from None


def _whole(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("expects a whole number") from None


def _model_id(raw: str) -> str:
    from .registry import get_spec

    get_spec(raw)  # UnknownModelError names the registered ids
    return raw


def _tone_model_id(raw: str) -> str:
    from .enhance import check_tone_model

    check_tone_model(raw)  # UnknownModelError names the registered ids; another task's model is refused
    return raw


@dataclass(frozen=True)
class StepOutcome:
    """What one step produced.

    Attributes:
        image: the result, as :func:`enhancers.imageio.save_result` would write it (alpha and metadata kept).
        chosen: the values the step chose, for the batch manifest: ``model`` (id) always, and per task
            ``scale``, ``alpha`` (network interpolation α), ``sigma`` and ``sigma_estimated`` (0–255),
            ``qf_predicted``, ``qf_used``, ``qf_header``, ``qf_dct_grid`` (JPEG quality factor), ``faces``,
            ``tone_model``, ``tone_strength`` and ``tone_left_alone`` (auto-tone's curves within a level of the
            identity, :func:`enhancers.enhance.tone_left_alone`; None when auto-tone was off).
        note: the same values as a short human-readable phrase (starts with ", " or is empty).
        seconds: wall-clock time of the step, in s.
    """

    image: LoadedImage
    chosen: Mapping[str, object]
    note: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class StepKind:
    """One task as a chain step: its options (name → parser of the text value), the flags that stand
    for an option value (``x2`` → ``scale=2``), the models it loads, and how it runs."""

    task: str
    options: Mapping[str, Callable[[str], object]]
    run: Callable[[LoadedImage, Mapping[str, object], Progress | None], StepOutcome]
    models: Callable[[Mapping[str, object]], list[tuple[str, float | None]]]
    flags: Mapping[str, tuple[str, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """A task and the options given for it (unset options take the task's defaults)."""

    task: str
    options: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = step_kind(self.task)
        unknown = sorted(set(self.options) - set(kind.options))
        if unknown:
            raise InvalidInputError(f"step {self.task}: unknown option {unknown[0]!r} "
                                    f"(expected one of {', '.join(kind.options)})")
        object.__setattr__(self, "options", MappingProxyType({k: v for k, v in self.options.items()
                                                              if v is not None}))

    def __str__(self) -> str:
        return ":".join([self.task, *(f"{k}={_text(v)}" for k, v in self.options.items())])

    def models(self) -> list[tuple[str, float | None]]:
        """``(model id, α)`` pairs this step loads (α None: the spec's default)."""
        return step_kind(self.task).models(self.options)


def _text(v: object) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


# --- the tasks -------------------------------------------------------------------------------------

def _sr_model(o: Mapping[str, object]) -> str:
    from . import sr

    return str(o.get("model") or sr.default_model(int(o.get("scale") or 2)))


def _run_sr(image: LoadedImage, o: Mapping[str, object], progress: Progress | None) -> StepOutcome:
    from . import sr

    model = _sr_model(o)
    res = sr.upscale_image(image, model, o.get("scale"), o.get("tile"), progress, with_before=False,
                           self_ensemble=o.get("self_ensemble"))
    return StepOutcome(res.image, {"model": model, "scale": res.scale, "self_ensemble": res.self_ensemble,
                                   "precision": res.precision})


def _enhance_model(o: Mapping[str, object]) -> str:
    """The generator that runs: the chosen one, or its variant for the output scale (the same-size sibling)."""
    from . import enhance

    return enhance.model_for_scale(str(o.get("model") or enhance.DEFAULT_MODEL), int(o.get("scale") or 2))


def _run_enhance(image: LoadedImage, o: Mapping[str, object], progress: Progress | None) -> StepOutcome:
    from . import enhance

    model = _enhance_model(o)
    strength = o.get("tone_strength")
    tone = _wants_tone(o)
    strength = 1.0 if strength is None else float(strength)
    tone_model = _tone_model(o)
    res = enhance.enhance_image(image, model, int(o.get("scale", 2)), o.get("fidelity"), tone, o.get("faces"),
                                bool(o.get("only_largest_face", False)), o.get("face_fidelity"), o.get("tile"),
                                progress, with_before=False, tone_strength=strength, tone_model=tone_model)
    notes = [f", {model}"]
    if res.alpha is not None:
        notes.append(f" α = {res.alpha:.2f}")
    if tone:
        notes.append(f", auto-tone {enhance.tone_details(tone_model, strength, res.tone_curves)}".rstrip())
    if o.get("faces"):
        notes.append(f", {len(res.faces)} face(s) restored")
    chosen = {"model": model, "scale": res.scale, "alpha": res.alpha, "tone": tone,
              "tone_strength": res.tone_strength, "tone_model": res.tone_model,
              "tone_left_alone": enhance.tone_left_alone(res.tone_curves) if tone else None}
    if o.get("faces"):
        chosen.update(face_model=o["faces"], faces=len(res.faces))
    return StepOutcome(res.image, chosen, "".join(notes))


def _enhance_models(o: Mapping[str, object]) -> list[tuple[str, float | None]]:
    pairs = [(_enhance_model(o), o.get("fidelity"))]
    if _wants_tone(o):
        pairs.append((_tone_model(o), None))
    return pairs


def _wants_tone(o: Mapping[str, object]) -> bool:
    """Auto-tone is on when asked for, or when its strength or model is given alone."""
    return bool(o.get("tone", False)) or o.get("tone_strength") is not None or o.get("tone_model") is not None


def _tone_model(o: Mapping[str, object]) -> str:
    from . import enhance

    return str(o.get("tone_model") or enhance.TONE_MODEL)


def _denoise_model(o: Mapping[str, object]) -> str:
    from . import denoise

    return str(o.get("model") or denoise.DEFAULT_MODEL)


def _run_denoise(image: LoadedImage, o: Mapping[str, object], progress: Progress | None) -> StepOutcome:
    from . import denoise

    model = _denoise_model(o)
    res = denoise.denoise_image(image, model, o.get("sigma"), o.get("tile"), progress)
    chosen = {"model": model, "sigma": res.sigma, "sigma_estimated": res.sigma_estimated}
    if res.sigma is None:
        return StepOutcome(res.image, chosen, f", {model} is blind")
    how = "estimated" if res.sigma_estimated is not None else "given"
    return StepOutcome(res.image, chosen, f", σ = {res.sigma:.1f} ({how})")


def _dejpeg_model(o: Mapping[str, object]) -> str:
    from . import dejpeg

    return str(o.get("model") or dejpeg.DEFAULT_MODEL)


def _run_dejpeg(image: LoadedImage, o: Mapping[str, object], progress: Progress | None) -> StepOutcome:
    from . import dejpeg

    model = _dejpeg_model(o)
    res = dejpeg.dejpeg_image(image, model, o.get("quality"), o.get("tile"), progress)
    q = res.quality
    header = f", file header says {q.header}" if q.header is not None else ""
    found = f", DCT grid says {q.estimated}" if q.estimated is not None else ""
    chosen = {"model": model, "qf_predicted": round(float(q.predicted), 2), "qf_used": round(float(q.used), 2),
              "qf_dct_grid": q.estimated, "qf_header": q.header}
    return StepOutcome(res.image, chosen, f", QF predicted {q.predicted:.0f}{found}{header}, used {q.used:.0f}")


def _colorize_model(o: Mapping[str, object]) -> str:
    from . import colorize

    return str(o.get("model") or colorize.DEFAULT_MODEL)


def _run_colorize(image: LoadedImage, o: Mapping[str, object], progress: Progress | None) -> StepOutcome:
    from . import colorize

    model = _colorize_model(o)
    res = colorize.colorize_image(image, model, float(o.get("saturation", 1.0)),
                                  int(o.get("work_size", colorize.WORK_SIZE)), progress,
                                  ensemble=bool(o.get("ensemble", True)),
                                  temperature=None if o.get("temperature") is None else float(o["temperature"]))
    return StepOutcome(res.image, {"model": model, "was_colour": res.was_colour})


def _style_model(o: Mapping[str, object]) -> str:
    from . import style

    return str(o.get("model") or style.DEFAULT_FAST)


def _run_style(image: LoadedImage, o: Mapping[str, object], progress: Progress | None) -> StepOutcome:
    from . import style

    model = _style_model(o)
    out = style.fast_stylize(image.rgb, model, float(o.get("strength", 1.0)))
    if progress is not None:
        progress(1, 1)
    return StepOutcome(image.with_pixels(out, image.alpha), {"model": model})


def _one(model: Callable[[Mapping[str, object]], str]) -> Callable[[Mapping[str, object]], list]:
    return lambda o: [(model(o), None)]


_SCALE_FLAGS = {f"x{n}": ("scale", n) for n in (1, 2, 3, 4)}
STEP_KINDS: Mapping[str, StepKind] = MappingProxyType({k.task: k for k in (
    StepKind("dejpeg", {"model": _model_id, "quality": _number, "tile": _whole}, _run_dejpeg, _one(_dejpeg_model),
             {}),
    StepKind("denoise", {"model": _model_id, "sigma": _number, "tile": _whole}, _run_denoise,
             _one(_denoise_model)),
    StepKind("sr", {"model": _model_id, "scale": _whole, "tile": _whole, "self_ensemble": _boolean}, _run_sr,
             _one(_sr_model), {k: v for k, v in _SCALE_FLAGS.items() if k != "x1"}),
    StepKind("enhance", {"model": _model_id, "scale": _whole, "fidelity": _number, "tone": _boolean,
                         "tone_strength": _number, "tone_model": _tone_model_id, "faces": _model_id,
                         "only_largest_face": _boolean, "face_fidelity": _number, "tile": _whole},
             _run_enhance, _enhance_models,
             {"x1": ("scale", 1), "x2": ("scale", 2), "x4": ("scale", 4), "tone": ("tone", True)}),
    StepKind("colorize", {"model": _model_id, "saturation": _number, "work_size": _whole, "ensemble": _boolean,
                          "temperature": _number},
             _run_colorize, _one(_colorize_model)),
    StepKind("style", {"model": _model_id, "strength": _number}, _run_style, _one(_style_model)),
)})
# "qf" reads better in a chain; it is the JPEG quality factor the dejpeg step assumes.
_ALIASES = {("dejpeg", "qf"): "quality"}


def step_kind(task: str) -> StepKind:
    """The :class:`StepKind` of ``task``. Raises :class:`InvalidInputError` for unknown tasks."""
    try:
        return STEP_KINDS[task]
    except KeyError:
        raise InvalidInputError(f"unknown step {task!r} (expected one of {', '.join(STEP_KINDS)})") from None


def parse_step(text: str) -> Step:
    """One step from ``task[:option...]`` text, each option ``name=value`` or a flag (``x2``, ``tone``).

    Raises:
        InvalidInputError: unknown task or option, or a value its option cannot take.
        UnknownModelError: ``model=`` names no registered model.
    """
    task, *parts = [p.strip() for p in text.strip().split(":")]
    kind = step_kind(task.lower())
    options: dict[str, object] = {}
    for part in parts:
        name, sep, raw = part.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep:
            if name in kind.flags:
                key, value = kind.flags[name]
                options[key] = value
                continue
            if kind.options.get(name) is _boolean:
                options[name] = True
                continue
            hint = f"; flags: {', '.join(kind.flags)}" if kind.flags else ""
            raise InvalidInputError(f"step {kind.task}: {part!r} is not name=value (options: "
                                    f"{', '.join(kind.options)}{hint})")
        name = _ALIASES.get((kind.task, name), name)
        if name not in kind.options:
            raise InvalidInputError(f"step {kind.task}: unknown option {name!r} (expected one of "
                                    f"{', '.join(kind.options)})")
        try:
            options[name] = kind.options[name](raw.strip())
        except ValueError as e:
            raise InvalidInputError(f"step {kind.task}: {name} {e}, got {raw.strip()!r}") from None
    return Step(kind.task, options)


def parse_steps(text: str) -> tuple[Step, ...]:
    """A chain from comma-separated steps, e.g. ``"dejpeg,denoise:sigma=15,sr:x2"``.

    Raises:
        InvalidInputError: an empty chain, or any error of :func:`parse_step`.
    """
    parts = [p for p in (s.strip() for s in text.split(",")) if p]
    if not parts:
        raise InvalidInputError(f"no steps in {text!r} (expected e.g. dejpeg,denoise,sr:x2; steps: "
                                f"{', '.join(STEP_KINDS)})")
    return tuple(parse_step(p) for p in parts)


def run_step(image: LoadedImage, step: Step, progress: Progress | None = None) -> StepOutcome:
    """Run one step, in the precision set by :func:`enhancers.precision.use_precision`.

    Raises:
        EnhancerError subclasses of the task's library call (bad input, unavailable model).
    """
    started = time.perf_counter()
    out = step_kind(step.task).run(image, step.options, progress)
    return StepOutcome(out.image, out.chosen, out.note, time.perf_counter() - started)


def run_chain(image: LoadedImage, steps: tuple[Step, ...] | list[Step],
              progress: Callable[[int, int, int], None] | None = None) -> tuple[LoadedImage, list[StepOutcome]]:
    """Run steps one after another, each on the 8-bit PNG the previous one would have written.

    Between steps the image goes through :func:`enhancers.imageio.as_saved`, so the chain's result
    equals running the single-task commands one after another on each other's output files.
    ``progress(step index, done, total)`` reports each step's tiles.
    """
    outcomes = []
    for i, step in enumerate(steps):
        if i:
            image = imageio.as_saved(image)
        tiles = (lambda done, total, i=i: progress(i, done, total)) if progress is not None else None
        outcome = run_step(image, step, tiles)
        outcomes.append(outcome)
        image = outcome.image
    return image, outcomes
