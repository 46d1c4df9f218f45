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
    a = ap.parse_args(argv)
    cfg = SRConfig(arch=a.arch, scale=a.scale, steps=a.steps, out_name=a.out, num_feat=a.num_feat,
                   num_conv=a.num_conv, batch=a.batch, lr_patch=a.lr_patch, lr=a.lr, threads=a.threads,
                   eval_every=a.eval_every, seed=a.seed)
    summary = train(cfg)
    print(json.dumps(summary["final"]["mean"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
