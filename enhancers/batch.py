"""Restore a photo archive: a chain of steps over many files, in-process or on Ray Data.

:func:`discover` lists the inputs (folders searched recursively, relative paths kept),
:class:`ChainWorker` holds the loaded models and turns one input into one output PNG and one manifest
record, and :func:`run_batch` drives it with the ``local`` engine (this process, a tqdm bar on stderr)
or the ``ray`` engine (Ray Data ``map_batches`` over an actor pool of ChainWorkers, on a local Ray or an
existing cluster). Outputs are written atomically, so a re-run skips every input whose output is
complete and a killed run resumes where it stopped.

The manifest ``DIR/manifest.jsonl`` gets one JSON line per input and run: ``input``, ``output``,
``status`` (``ok``, ``skipped`` or ``error``), ``error``, ``steps`` (each step's text and the values it
chose: model ids, predicted QF, estimated σ …), ``seconds`` (wall-clock for the photo, read to write),
``worker`` (host:pid) and ``run`` (when the run started, UTC).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .errors import EnhancerError, InvalidInputError


class BatchEngineError(EnhancerError):
    """The Ray engine failed as a whole (cannot start or join Ray, or a worker could not load its models)."""

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
MANIFEST = "manifest.jsonl"
ENGINES = ("local", "ray")
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
ROOT = Path(__file__).resolve().parents[1]
# Left out of the code shipped to a remote Ray cluster (runtime_env working_dir).
_NOT_SHIPPED = [".git", ".venv", "data", "runs", "test-artifacts", ".bench-peer", "outputs", "**/__pycache__"]


@dataclass(frozen=True)
class BatchItem:
    """One input file and its path relative to the folder it was found in (its name when given directly)."""

    input: Path
    rel: Path


def discover(inputs: Iterable[str | os.PathLike]) -> list[BatchItem]:
    """Files as given, and image files (by suffix) in folders, searched recursively, sorted.

    Raises:
        InvalidInputError: an input path does not exist.
    """
    items: list[BatchItem] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            found = sorted(c for c in p.rglob("*") if c.is_file() and c.suffix.lower() in IMAGE_SUFFIXES
                           and not any(part.startswith(".") for part in c.relative_to(p).parts))
            items.extend(BatchItem(c.resolve(), c.relative_to(p)) for c in found)
        elif p.exists():
            items.append(BatchItem(p.resolve(), Path(p.name)))
        else:
            raise InvalidInputError(f"{raw}: no such file or folder")
    return items


def output_paths(items: Sequence[BatchItem], out_dir: str | os.PathLike) -> list[Path]:
    """``DIR/<relative path>.png`` for each item; where two inputs would share one (``a.jpg`` and ``a.png``),
    both keep their suffix in the name (``a.jpg.png``, ``a.png.png``)."""
    out_dir = Path(out_dir).resolve()
    plain = [out_dir / it.rel.with_suffix(".png") for it in items]
    counts: dict[Path, int] = {}
    for p in plain:
        counts[p] = counts.get(p, 0) + 1
    return [p if counts[p] == 1 else out_dir / it.rel.parent / f"{it.rel.name}.png" for p, it in zip(plain, items)]


def is_complete(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a whole PNG (its signature first and its IEND chunk last)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            fh.seek(0, os.SEEK_END)
            if fh.tell() < 8 + len(_PNG_END):
                return False
            fh.seek(-len(_PNG_END), os.SEEK_END)
            return head == b"\x89PNG\r\n\x1a\n" and fh.read() == _PNG_END
    except OSError:
        return False


def _remove_stale_parts(dest: Path) -> None:
    """Temp files a killed run left next to ``dest`` (an atomic write's ``.<stem>-*.png.part``)."""
    for part in dest.parent.glob(f".{dest.stem}-*.png.part"):
        part.unlink(missing_ok=True)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ChainWorker:
    """Loads the chain's models once, then restores one photo per row.

    Used as it is by the local engine and as the actor class of Ray Data's ``map_batches``: called with a
    batch ``{"input": [...], "output": [...]}`` (paths as text), it returns ``{"record": [...]}``, each a
    manifest record as JSON text. A photo that fails gives an ``error`` record; nothing is written for it.
    """

    def __init__(self, steps: str, precision: str | None = None, threads: int | None = None,
                 run_id: str = "") -> None:
        from . import steps as step_lib
        from .loader import load_model
        from .precision import tune_allocator, use_precision

        from .device import configure_cpu_threads

        tune_allocator()
        configure_cpu_threads(threads)
        self.chain = step_lib.parse_steps(steps)
        self.precision = precision
        self.run_id = run_id
        models = [m for step in self.chain for m in step.models()]
        self._reserve_cache(len(models))
        with use_precision(precision):
            for model_id, alpha in models:
                load_model(model_id, alpha)

    @staticmethod
    def _reserve_cache(n: int) -> None:
        """Room for every model of the chain, so none is evicted and reloaded per photo."""
        from .loader import model_cache

        cache = model_cache()
        cache.max_models = max(cache.max_models, n)

    def restore(self, source: str, dest: str, progress=None) -> dict:
        """One photo through the chain into ``dest`` (atomic PNG); the manifest record."""
        from . import imageio, steps
        from .precision import use_precision

        started = time.perf_counter()
        record: dict = {"input": source, "output": dest, "status": "ok", "error": None, "steps": [],
                        "seconds": None, "worker": worker_name(), "run": self.run_id}
        try:
            image = imageio.open_image(source)
            with use_precision(self.precision):
                result, outcomes = steps.run_chain(image, self.chain, progress)
            _remove_stale_parts(Path(dest))
            imageio.save_result(dest, result)
            record["steps"] = [{"step": str(s), **o.chosen, "seconds": round(o.seconds, 3)}
                               for s, o in zip(self.chain, outcomes)]
            record["input_size"] = [image.width, image.height]
            record["output_size"] = [result.width, result.height]
        except (EnhancerError, MemoryError, OSError) as e:
            # OSError: the output could not be written (disk full, permissions); save_png left nothing behind.
            name = Path(source).name
            msg = str(e) or type(e).__name__
            record.update(status="error", output=None,
                          error=msg if msg.startswith(name) else f"{name}: {msg}",
                          steps=[str(s) for s in self.chain])
        record["seconds"] = round(time.perf_counter() - started, 3)
        return record

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        records = [json.dumps(self.restore(str(src), str(dest)), ensure_ascii=False)
                   for src, dest in zip(batch["input"], batch["output"])]
        return {"record": np.array(records, dtype=object)}


class Manifest:
    """``DIR/manifest.jsonl``, appended one line at a time and flushed, so a killed run keeps its lines."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / MANIFEST
        self._fh = open(self.path, "a", encoding="utf-8")
        self.counts = {"ok": 0, "skipped": 0, "error": 0}

    def write(self, record: dict) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        self.counts[record["status"]] += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class BatchSummary:
    """How a run ended: counts by status, the manifest's path, and wall-clock seconds."""

    ok: int
    skipped: int
    error: int
    manifest: Path
    seconds: float

    @property
    def exit_code(self) -> int:
        return 1 if self.error else 0


def run_batch(inputs: Sequence[str | os.PathLike], out_dir: str | os.PathLike, steps: str,
              engine: str = "local", address: str | None = None, workers: int | None = None,
              cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0,
              precision: str | None = None, threads: int | None = None,
              on_record: Callable[[dict], None] | None = None) -> BatchSummary:
    """Run the chain ``steps`` over every input into ``out_dir``, skipping complete outputs.

    Args:
        inputs: files and folders (searched recursively; relative paths kept under ``out_dir``).
        steps: a chain as in :func:`enhancers.steps.parse_steps`, e.g. ``"dejpeg,denoise,sr:x2"``.
        engine: ``local`` (this process) or ``ray`` (Ray Data).
        address: Ray only: ``None`` starts a local Ray on this machine (or uses one already started in
            this process); ``auto`` or ``ray://host:port`` joins an existing cluster.
        workers: Ray only: actors in the pool (default: the cluster's CPUs / ``cpus_per_worker``).
        cpus_per_worker, gpus_per_worker: Ray resources per actor; the CPUs are its torch threads.
        precision: ``auto``, ``fp32`` or ``bf16`` (:mod:`enhancers.precision`).
        threads: local only: torch's CPU threads in this process (default: ``OMP_NUM_THREADS``, else one per
            physical core); Ray actors use ``cpus_per_worker``.
        on_record: called with each manifest record as it is written.

    Raises:
        InvalidInputError: a bad chain, engine or worker count, a missing input, or no images found.
        UnknownModelError, ModelUnavailableError: a step's model cannot be loaded.
        BatchEngineError: Ray cannot start or be reached, or its workers fail as a whole.
    """
    from . import steps as step_lib

    chain = step_lib.parse_steps(steps)
    if engine not in ENGINES:
        raise InvalidInputError(f"unknown engine {engine!r} (expected one of {', '.join(ENGINES)})")
    if workers is not None and workers < 1:
        raise InvalidInputError(f"workers must be at least 1, got {workers}")
    if engine == "local" and address:
        raise InvalidInputError("--address joins a Ray cluster; use it with --engine ray")
    items = discover(inputs)
    if not items:
        raise InvalidInputError("no input images found")
    out_dir = Path(out_dir).resolve()
    started = time.perf_counter()
    run_id = datetime.now(UTC).isoformat(timespec="seconds")
    chain_text = ",".join(str(s) for s in chain)
    todo: list[tuple[str, str]] = []
    with Manifest(out_dir) as manifest:
        def write(record: dict) -> None:
            manifest.write(record)
            if on_record is not None:
                on_record(record)

        for item, dest in zip(items, output_paths(items, out_dir)):
            if is_complete(dest):
                write({"input": str(item.input), "output": str(dest), "status": "skipped", "error": None,
                       "steps": [str(s) for s in chain], "seconds": 0.0, "worker": worker_name(), "run": run_id})
            else:
                todo.append((str(item.input), str(dest)))
        if todo:
            records = (_run_local(todo, chain_text, precision, run_id, threads) if engine == "local" else
                       _run_ray(todo, chain_text, precision, run_id, address, workers, cpus_per_worker,
                                gpus_per_worker))
            for record in records:
                write(record)
        counts = dict(manifest.counts)
    return BatchSummary(counts["ok"], counts["skipped"], counts["error"], out_dir / MANIFEST,
                        time.perf_counter() - started)


def _run_local(todo: list[tuple[str, str]], steps: str, precision: str | None, run_id: str,
               threads: int | None) -> Iterator[dict]:
    from tqdm import tqdm

    worker = ChainWorker(steps, precision, threads, run_id)
    with tqdm(total=len(todo), desc="batch", unit="photo", file=sys.stderr) as bar:
        for source, dest in todo:
            bar.set_postfix_str(Path(source).name, refresh=False)
            record = worker.restore(source, dest)
            bar.update(1)
            yield record


def _run_ray(todo: list[tuple[str, str]], steps: str, precision: str | None, run_id: str, address: str | None,
             workers: int | None, cpus_per_worker: float, gpus_per_worker: float) -> Iterator[dict]:
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        # A local Ray sized to the workers asked for; all of this machine's CPUs otherwise.
        local_cpus = int(-(-workers * cpus_per_worker // 1)) if workers and address is None else None
        start_ray(address, local_cpus)
    try:
        if workers is None:
            cpus = ray.cluster_resources().get("CPU", 1.0)
            workers = max(1, int(cpus // max(cpus_per_worker, 1e-9)))
        ds = ray.data.from_items([{"input": s, "output": d} for s, d in todo],
                                 override_num_blocks=min(len(todo), 10_000))
        ds = ds.map_batches(ChainWorker, batch_size=1,
                            fn_constructor_kwargs={"steps": steps, "precision": precision,
                                                   "threads": max(1, int(cpus_per_worker)), "run_id": run_id},
                            compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=cpus_per_worker,
                            num_gpus=gpus_per_worker or None)
        try:
            for row in ds.iter_rows():
                yield json.loads(row["record"])
        except ray.exceptions.RayError as e:
            raise BatchEngineError(f"Ray workers failed: {_last_line(e)}") from None
    finally:
        if started_here:
            ray.shutdown()


def _last_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[-1] if lines else type(e).__name__


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise BatchEngineError(f"the ray engine needs Ray Data: pip install 'ray[data]' ({e})") from None
    return ray


def start_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Start a local Ray (``address`` None; ``num_cpus`` default: all) or join a cluster (``auto``,
    ``ray://host:port``), set up so that its workers can import this project.

    On this machine the workers get this checkout on their import path; on a cluster this checkout's code
    and bundled weights are shipped as the job's working dir (photos, venvs and caches left out).

    Raises:
        BatchEngineError: Ray is not installed, cannot start, or the address cannot be reached.
    """
    ray = _import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    for name in ("ENHANCERS_PRECISION", "ENHANCERS_DEVICE", "ENHANCERS_MAX_PIXELS", "HF_HUB_OFFLINE", "HF_ENDPOINT",
                 "HF_HOME", "HF_HUB_CACHE"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    try:
        if address is None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            # Loopback: a machine-local Ray needs no routable address (and CI machines may have none).
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
                     runtime_env={"env_vars": env})
        else:
            ray.init(address=address, log_to_driver=False,
                     runtime_env={"working_dir": str(ROOT), "excludes": _NOT_SHIPPED, "env_vars": env})
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
        raise BatchEngineError(f"cannot {'start' if address is None else 'join'} Ray"
                               f"{'' if address is None else ' at ' + address}: {_last_line(e)}") from None
