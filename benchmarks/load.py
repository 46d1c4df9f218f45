"""Mixed load on the app: N simulated clients for D minutes across every API endpoint, valid and invalid inputs,
some cancellations.

Starts ``app.py`` in a fresh process (its own temp folder, Gradio cache and output folder; offline, so Hub models
answer "unavailable"), discovers every named endpoint with gradio_client, and runs ``--clients`` threads, each
with its own ``Client``, that call random endpoints until ``--minutes`` have passed. Valid calls use small
photos and light settings; invalid ones send a damaged upload, a value outside a slider's range, a choice that
does not exist or a Hub model while offline. A share of the long calls (/sr, /style, /enhance) is cancelled
mid-run with ``Job.cancel``.

Prints calls per minute, p50/p95 latency per endpoint (submit to result, queueing included), outcomes by kind,
the server's peak RSS, the output folder's size (the app's results, bounded by ``ENHANCERS_OUTPUT_MAX_MB``) and
Gradio's cache, and the temp files left behind. Exit code 0 when: no unexpected error (a crash message, a
timeout, an error for a valid call), peak RSS under ``--max-rss-mb``, the output folder within its bound, and no
``*.part`` / ``*.incomplete`` files left.

Usage: ``python benchmarks/load.py [--clients 30] [--minutes 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
CRASH_MESSAGE = "has raised an exception but has not enabled verbose error reporting"
CALL_TIMEOUT_S = 300
# Light settings for the valid calls, per endpoint (the rest of the parameters keep their defaults).
LIGHT = {
    "/style": {"steps": 4, "size": 64, "every": 2},
    "/latent_interpolate": {"frames": 4},
    "/latent_gan_interpolate": {"frames": 4},
    "/latent_sample": {"count": 4},
    "/colorize": {"work_size": 128},
}
# Valid alternatives drawn at random, so the cache of loaded models sees some churn.
VARIANTS = {
    "/sr": [{}, {"model_id": "sr/lanczos"}, {"model_id": "sr/compact-x4", "scale": 4, "self_ensemble": "off"}],
    "/denoise": [{}, {"blind": False, "sigma": 15}],
    "/style": [{}, {"features": "gatys/hybrid"}],
    "/fast_style": [{}, {"model_id": "style/truchet", "strength": 0.5}],
}
CANCELLABLE = {"/sr", "/style", "/enhance", "/enhance_classroom", "/colorize"}
MODEL_PARAMS = {"model_id", "features", "face_model"}  # choices that may name a Hub model


# --- Inputs ------------------------------------------------------------------------------------------------------


def make_inputs(folder: Path) -> dict[str, Path]:
    """A small photo (scikit-image's astronaut, 64×48), a damaged one, a non-image, and a drawn digit."""
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "photo.png"
    Image.fromarray(data.astronaut()[60:252:4, 150:406:4]).save(photo)
    damaged = folder / "damaged.png"
    damaged.write_bytes(photo.read_bytes()[:300])
    not_image = folder / "notes.png"
    not_image.write_bytes(b"this is not an image\n" * 20)
    digit = folder / "digit.png"
    im = Image.new("RGB", (112, 112), "black")
    ImageDraw.Draw(im).line([(56, 18), (56, 94)], fill="white", width=12)
    im.save(digit)
    return {"photo": photo, "damaged": damaged, "not_image": not_image, "digit": digit}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: object
    required: bool
    choices: tuple[str, ...] = ()


def discover(client) -> dict[str, list[Param]]:
    """Every named endpoint and its parameters, from the app's API description."""
    import re

    out: dict[str, list[Param]] = {}
    for name, ep in client.view_api(return_format="dict", print_info=False)["named_endpoints"].items():
        params = []
        for p in ep["parameters"]:
            typ = p.get("python_type", {}).get("type", "")
            choices = tuple(re.findall(r"'([^']*)'", typ)) if typ.startswith("Literal[") else ()
            params.append(Param(p["parameter_name"], typ, p.get("parameter_default"),
                                not p.get("parameter_has_default", False), choices))
        out[name] = params
    return out


def build_call(endpoint: str, params: list[Param], files: dict[str, Path], valid: bool, rng: random.Random,
               hub_models: set[str]) -> tuple[dict[str, object], str]:
    """Keyword arguments for one call, and what kind of call it is (``valid`` or the kind of invalid input)."""
    from gradio_client import handle_file

    kwargs: dict[str, object] = {}
    for p in params:
        if p.type == "filepath":
            kwargs[p.name] = handle_file(str(files["digit" if endpoint.startswith("/latent") else "photo"]))
        elif p.type.startswith("dict(background"):
            kwargs[p.name] = {"background": None, "layers": [], "composite": handle_file(str(files["digit"])),
                              "id": None}
        elif p.required:
            kwargs[p.name] = p.default
    kwargs.update(LIGHT.get(endpoint, {}))
    if valid:
        kwargs.update(rng.choice(VARIANTS.get(endpoint, [{}])))
        return kwargs, "valid"
    options = []
    image_params = [p.name for p in params if p.type == "filepath"]
    if image_params:
        options += ["damaged_image", "not_an_image"]
    numbers = [p for p in params if p.type in ("float", "int") and p.name not in ("x", "y", "seed", "seed_a",
                                                                                    "seed_b")]
    if numbers:
        options.append("out_of_range")
    if any(p.choices for p in params):
        options.append("unknown_choice")
    if image_params and any(p.name in MODEL_PARAMS and set(p.choices) & hub_models for p in params):
        options.append("hub_model_offline")  # only where the model runs: a model card needs no weights
    if not options:
        return kwargs, "valid"
    kind = rng.choice(options)
    if kind in ("damaged_image", "not_an_image"):
        name = rng.choice(image_params)
        kwargs[name] = handle_file(str(files["damaged" if kind == "damaged_image" else "not_image"]))
    elif kind == "out_of_range":
        name = rng.choice(numbers).name
        kwargs[name] = rng.choice((-10_000, 10_000_000))
    elif kind == "unknown_choice":
        name = rng.choice([p for p in params if p.choices]).name
        kwargs[name] = "no-such-choice"
    else:
        p = next(p for p in params if p.name in MODEL_PARAMS and set(p.choices) & hub_models)
        name, kwargs[p.name] = p.name, rng.choice(sorted(set(p.choices) & hub_models))
    value = kwargs[name] if kind not in ("damaged_image", "not_an_image") else files[
        "damaged" if kind == "damaged_image" else "not_image"].name
    return kwargs, f"{kind} ({name}={value})"


# --- The run -----------------------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    outcomes: Counter = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # invalid inputs the app took (clamped or ignored)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, endpoint: str, outcome: str, seconds: float | None, detail: str = "") -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            if seconds is not None and outcome in ("ok", "user_error"):
                self.latencies[endpoint].append(seconds)
            if outcome.startswith("UNEXPECTED") and len(self.unexpected) < 20:
                self.unexpected.append(f"{endpoint} {outcome}: {detail[:300]}")
            if outcome == "invalid_accepted" and len(self.accepted) < 20:
                self.accepted.append(f"{endpoint} {detail[:200]}")


def one_call(client, endpoint: str, kwargs: dict, kind: str, cancel_after: float | None, stats: Stats) -> None:
    from gradio_client.exceptions import AppError

    started = time.monotonic()
    try:
        job = client.submit(api_name=endpoint, **kwargs)
        if cancel_after is not None:
            time.sleep(cancel_after)
            if not job.done():
                job.cancel()
                stats.record(endpoint, "cancelled", None)
                return
        job.result(timeout=CALL_TIMEOUT_S)
        outcome, detail = ("ok", "") if kind == "valid" else ("invalid_accepted", "")
    except AppError as e:
        message = str(e)
        if CRASH_MESSAGE in message or not message.strip():
            outcome, detail = "UNEXPECTED crash", message
        elif kind == "valid":
            outcome, detail = "UNEXPECTED error on a valid call", message
        else:
            outcome, detail = "user_error", message
    except concurrent.futures.TimeoutError:
        outcome, detail = "UNEXPECTED timeout", f"no result after {CALL_TIMEOUT_S} s"
    except Exception as e:  # noqa: BLE001 - anything else the client meets is what this benchmark looks for
        outcome, detail = f"UNEXPECTED {type(e).__name__}", repr(e)
    stats.record(endpoint, outcome, time.monotonic() - started, f"{kind} {detail}")


def client_loop(url: str, endpoints: dict[str, list[Param]], files: dict[str, Path], hub_models: set[str],
                deadline: float, seed: int, invalid_share: float, cancel_share: float, stats: Stats) -> None:
    from gradio_client import Client

    rng = random.Random(seed)
    client = Client(url, verbose=False)
    names = sorted(endpoints)
    while time.monotonic() < deadline:
        endpoint = rng.choice(names)
        valid = rng.random() >= invalid_share
        kwargs, kind = build_call(endpoint, endpoints[endpoint], files, valid, rng, hub_models)
        cancel_after = (rng.uniform(0.2, 2.0) if valid and endpoint in CANCELLABLE and rng.random() < cancel_share
                        else None)
        one_call(client, endpoint, kwargs, kind, cancel_after, stats)
        time.sleep(rng.uniform(0.0, 0.5))  # think time


def folder_bytes(folder: Path) -> int:
    total = 0
    for p in folder.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:  # removed while we looked
            pass
    return total


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p) for pattern in ("*.part", "*.incomplete") for p in folder.rglob(pattern))


class Monitor(threading.Thread):
    """Samples the server's RSS (with its children) and the folders' sizes."""

    def __init__(self, pid: int, output_dir: Path, gradio_dir: Path) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.output_dir, self.gradio_dir = output_dir, gradio_dir
        self.peak_rss = self.peak_output = self.peak_gradio = 0
        self.rss_by_minute: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        started, tick = time.monotonic(), 0
        while not self.stop.wait(0.5):
            try:
                rss = sum(p.memory_info().rss for p in [self.proc, *self.proc.children(recursive=True)])
            except psutil.Error:
                continue
            self.peak_rss = max(self.peak_rss, rss)
            if time.monotonic() - started >= 60 * (len(self.rss_by_minute) + 1):
                self.rss_by_minute.append(rss)
            tick += 1
            if tick % 4 == 0:
                self.peak_output = max(self.peak_output, folder_bytes(self.output_dir))
                self.peak_gradio = max(self.peak_gradio, folder_bytes(self.gradio_dir))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(work: Path, output_max_mb: float, python: str | None = None,
                 env: dict[str, str | None] | None = None, timeout_s: float = 180
                 ) -> tuple[subprocess.Popen, str, Path, Path]:
    """Start ``app.py`` on a free port of 127.0.0.1 with its temp folders under ``work`` (log: ``work/server.log``)
    and wait until it answers. Offline (``HF_HUB_OFFLINE=1``) unless ``env`` says otherwise.

    Args:
        python: the interpreter to run it with (default: this one), e.g. a Space-like venv's.
        env: variables to set on top of the defaults; a None value removes the variable.
        timeout_s: how long to wait for the first answer.

    Returns:
        ``(process, url, the app's output folder, Gradio's temp folder)``.

    Raises:
        RuntimeError: the app exited or did not answer within ``timeout_s``.
    """
    port = free_port()
    tmp, gradio_dir = work / "tmp", work / "gradio"
    tmp.mkdir(parents=True)
    full_env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "TMPDIR": str(tmp),
                "GRADIO_TEMP_DIR": str(gradio_dir), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                "ENHANCERS_OUTPUT_MAX_MB": str(output_max_mb)}
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    log = (work / "server.log").open("w")
    proc = subprocess.Popen([python or sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=full_env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}; see {work / 'server.log'}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url, tmp / "enhancers-outputs", gradio_dir
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the app did not start within {timeout_s:.0f} s; see {work / 'server.log'}")


def hub_model_ids() -> set[str]:
    sys.path.insert(0, str(ROOT))
    from enhancers.registry import list_specs

    return {s.id for s in list_specs() if s.source_kind == "hub"}


def run(clients: int, minutes: float, seed: int = 0, invalid_share: float = 0.25, cancel_share: float = 0.15,
        output_max_mb: float = 64, work: Path | None = None) -> dict:
    """Run the load and return the report as a dict (see :func:`main` for its printout)."""
    from gradio_client import Client

    work = Path(work or tempfile.mkdtemp(prefix="enhancers-load-"))
    files = make_inputs(work / "inputs")
    proc, url, output_dir, gradio_dir = start_server(work, output_max_mb)
    stats = Stats()
    monitor = Monitor(proc.pid, output_dir, gradio_dir)
    try:
        endpoints = discover(Client(url, verbose=False))
        hub_models = hub_model_ids()
        monitor.start()
        started = time.monotonic()
        deadline = started + minutes * 60
        threads = [threading.Thread(target=client_loop, args=(url, endpoints, files, hub_models, deadline, seed + i,
                                                              invalid_share, cancel_share, stats), daemon=True)
                   for i in range(clients)]
        for t in threads:
            t.start()
            time.sleep(0.1)
        for t in threads:
            t.join(timeout=minutes * 60 + CALL_TIMEOUT_S + 60)
        elapsed = time.monotonic() - started
        stuck = sum(t.is_alive() for t in threads)
        time.sleep(2)  # let the last cleanups run
        final_output = folder_bytes(output_dir)
        final_gradio = folder_bytes(gradio_dir)
        alive = proc.poll() is None
    finally:
        monitor.stop.set()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    left = leftovers(work / "tmp") + leftovers(gradio_dir)
    per_endpoint = {ep: {"calls": len(v), "p50_s": float(np.percentile(v, 50)), "p95_s": float(np.percentile(v, 95))}
                    for ep, v in sorted(stats.latencies.items())}
    calls = sum(stats.outcomes.values())
    unexpected = sum(n for k, n in stats.outcomes.items() if k.startswith("UNEXPECTED")) + stuck
    report = {
        "clients": clients, "minutes": minutes, "elapsed_s": elapsed, "endpoints": len(endpoints),
        "endpoints_called": len(per_endpoint), "calls": calls, "calls_per_minute": calls / (elapsed / 60),
        "outcomes": dict(stats.outcomes), "unexpected": unexpected, "unexpected_examples": stats.unexpected,
        "invalid_accepted_examples": stats.accepted,
        "stuck_clients": stuck, "server_alive": alive, "peak_rss_mb": monitor.peak_rss / 2**20,
        "rss_by_minute_mb": [r / 2**20 for r in monitor.rss_by_minute],
        "output_folder_peak_mb": monitor.peak_output / 2**20, "output_folder_final_mb": final_output / 2**20,
        "output_folder_limit_mb": output_max_mb, "gradio_cache_peak_mb": monitor.peak_gradio / 2**20,
        "gradio_cache_final_mb": final_gradio / 2**20, "temp_files_left": left, "per_endpoint": per_endpoint,
        "work_dir": str(work),
    }
    return report


def check(report: dict, max_rss_mb: float, margin_mb: float = 32) -> list[str]:
    """The requirements the report fails, in words (empty: all held)."""
    problems = []
    if report["unexpected"]:
        problems.append(f"{report['unexpected']} unexpected errors")
    if not report["server_alive"]:
        problems.append("the server died")
    if report["peak_rss_mb"] > max_rss_mb:
        problems.append(f"peak RSS {report['peak_rss_mb']:.0f} MB over {max_rss_mb:.0f} MB")
    # Pruned before each new result, so the folder may exceed its limit by the results of the calls in flight.
    if report["output_folder_peak_mb"] > report["output_folder_limit_mb"] + margin_mb:
        problems.append(f"output folder reached {report['output_folder_peak_mb']:.0f} MB")
    if report["temp_files_left"]:
        problems.append(f"temp files left behind: {report['temp_files_left'][:5]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--invalid-share", type=float, default=0.25, help="share of calls with an invalid input")
    parser.add_argument("--cancel-share", type=float, default=0.15, help="share of long valid calls cancelled")
    parser.add_argument("--output-max-mb", type=float, default=64, help="the app's ENHANCERS_OUTPUT_MAX_MB")
    parser.add_argument("--output-margin-mb", type=float, default=32,
                        help="how far the output folder may exceed its limit (results of the calls in flight)")
    parser.add_argument("--max-rss-mb", type=float, default=4096, help="fail above this server peak RSS")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    report = run(args.clients, args.minutes, args.seed, args.invalid_share, args.cancel_share, args.output_max_mb)
    problems = check(report, args.max_rss_mb, args.output_margin_mb)
    report["problems"] = problems
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print(f"{report['clients']} clients for {report['elapsed_s'] / 60:.1f} min over {report['endpoints_called']}/"
          f"{report['endpoints']} endpoints: {report['calls']} calls, {report['calls_per_minute']:.0f} per minute")
    print("outcomes: " + ", ".join(f"{k} {n}" for k, n in sorted(report["outcomes"].items(), key=lambda kv: -kv[1])))
    print(f"{'endpoint':28} {'calls':>6} {'p50 s':>8} {'p95 s':>8}")
    for ep, row in report["per_endpoint"].items():
        print(f"{ep:28} {row['calls']:6d} {row['p50_s']:8.2f} {row['p95_s']:8.2f}")
    print(f"server peak RSS {report['peak_rss_mb']:.0f} MB (by minute: "
          f"{', '.join(f'{r:.0f}' for r in report['rss_by_minute_mb'])}); output folder peak "
          f"{report['output_folder_peak_mb']:.1f} MB, final {report['output_folder_final_mb']:.1f} MB "
          f"(limit {report['output_folder_limit_mb']:.0f} MB); Gradio cache peak "
          f"{report['gradio_cache_peak_mb']:.1f} MB; temp files left: {len(report['temp_files_left'])}")
    for line in report["invalid_accepted_examples"]:
        print("  invalid input accepted: " + line)
    for line in report["unexpected_examples"]:
        print("  unexpected: " + line)
    print("requirements: " + ("all held" if not problems else "; ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
