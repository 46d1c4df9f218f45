"""``python -m enhancers.training sr --arch compact --scale 2 --steps 6000 --out sr-compact-x2``"""

from __future__ import annotations

import argparse
import json

from .sr import SRConfig, train


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m enhancers.training")
    sub = ap.add_subparsers(dest="task", required=True)
    sr = sub.add_parser("sr", help="train a super-resolution model")
    sr.add_argument("--arch", choices=("compact", "srcnn"), required=True)
    sr.add_argument("--scale", type=int, choices=(2, 3, 4), required=True)
    sr.add_argument("--steps", type=int, required=True)
    sr.add_argument("--out", required=True, help="weights/<OUT>.safetensors")
    sr.add_argument("--num-feat", type=int, default=32)
    sr.add_argument("--num-conv", type=int, default=10)
    sr.add_argument("--batch", type=int, default=16)
    sr.add_argument("--lr-patch", type=int, default=48)
    sr.add_argument("--lr", type=float, default=5e-4)
    sr.add_argument("--threads", type=int, default=1)
    sr.add_argument("--eval-every", type=int, default=500)
    sr.add_argument("--seed", type=int, default=0)
    rep = sub.add_parser("report-sr", help="held-out table of local SR models, and model cards")
    rep.add_argument("--cards", action="store_true", help="also write weights/<name>.md for trained runs")
    rep.add_argument("--out", default="runs/sr-report.json")
    a = ap.parse_args(argv)
    if a.task == "report-sr":
        return _report(a)
    cfg = SRConfig(arch=a.arch, scale=a.scale, steps=a.steps, out_name=a.out, num_feat=a.num_feat,
                   num_conv=a.num_conv, batch=a.batch, lr_patch=a.lr_patch, lr=a.lr, threads=a.threads,
                   eval_every=a.eval_every, seed=a.seed)
    summary = train(cfg)
    print(json.dumps(summary["final"]["mean"]))
    return 0


def _report(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .report import markdown_table, sr_table, write_sr_card

    tables = {s: sr_table(s) for s in (2, 4)}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(tables, indent=1))
    for t in tables.values():
        print(markdown_table(t), end="\n\n")
    if a.cards:
        for run in sorted(Path("runs").glob("sr-*/summary.json")):
            scale = json.loads(run.read_text())["config"]["scale"]
            print("wrote", write_sr_card(run.parent, tables[scale]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
