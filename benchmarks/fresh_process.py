"""Run one benchmark measurement in a fresh process, so each peak RSS is its own."""

from __future__ import annotations

import multiprocessing as mp
import resource
from collections.abc import Callable


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    # VmHWM starts afresh at exec; ru_maxrss keeps the parent's peak at fork (a test run's 3 GB, say).
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _call(fn: Callable[..., dict], args: tuple, queue) -> None:
    try:
        queue.put(fn(*args))
    except Exception as e:  # report to the parent instead of leaving it waiting on the queue
        queue.put({"error": f"{type(e).__name__}: {e}"})
        raise


def in_fresh_process(fn: Callable[..., dict], *args: object) -> dict:
    """``fn(*args)`` in a spawned process; its dict comes back.

    ``fn`` must be a module-level function. Raises RuntimeError with the child's error.
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_call, args=(fn, args, queue))
    proc.start()
    res = queue.get()
    proc.join()
    if "error" in res:
        raise RuntimeError(f"{getattr(fn, '__name__', fn)}{args}: {res['error']}")
    return res
