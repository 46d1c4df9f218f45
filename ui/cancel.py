"""Stop and closed pages for long runs.

Gradio stops a generator handler between two yields when its client presses Stop (a ``cancels=`` event, or
gradio_client's ``Job.cancel``, both POST /cancel) or disconnects; a plain function runs to its end, holding the
queue slot. So long runs go to a worker thread, and the handler is a generator that yields at least every
HEARTBEAT_S: when Gradio closes it, the worker's token is cancelled and the worker stops at its next tile or
optimisation step, raising :class:`~enhancers.errors.Cancelled`.
"""

from __future__ import annotations

import contextvars
import functools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import gradio as gr

from enhancers.errors import Cancelled

T = TypeVar("T")

HEARTBEAT_S = 0.5


class CancelToken:
    """Set when the run's client has gone; the worker calls :meth:`check` between tiles and steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`~enhancers.errors.Cancelled` once the run has been cancelled."""
        if self._event.is_set():
            raise Cancelled("the run was cancelled (Stop pressed, or the page closed)")

    def checked(self, on_tile: Callable[[int, int], None]) -> Callable[[int, int], None]:
        """A tile progress callback ``(done, total)`` that checks for cancellation, then calls ``on_tile``."""
        def callback(done: int, total: int) -> None:
            self.check()
            on_tile(done, total)

        return callback


_RUN_TOKEN: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar("enhancers_run_token", default=None)


def in_worker(produce: Callable[[CancelToken], Iterable[T]], heartbeat_s: float = HEARTBEAT_S
              ) -> Iterator[T | None]:
    """Run ``produce(token)`` in a worker thread and yield what it yields, or None after each ``heartbeat_s``
    without news. Exceptions from the worker are re-raised here. Closing this generator cancels the token.

    The worker keeps the caller's context variables, so ``gr.Progress`` works from it.
    """
    token = CancelToken()
    items: queue.Queue[tuple[str, object]] = queue.Queue()

    def work() -> None:
        _RUN_TOKEN.set(token)  # for tile_progress callbacks made by the worker
        try:
            for item in produce(token):
                token.check()
                items.put(("item", item))
            items.put(("done", None))
        except Cancelled:
            items.put(("done", None))
        except BaseException as e:  # noqa: BLE001 - handed to the handler's thread, which re-raises it
            items.put(("error", e))

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(work,), name="enhancers-run", daemon=True).start()
    try:
        while True:
            try:
                kind, value = items.get(timeout=heartbeat_s)
            except queue.Empty:
                yield None
                continue
            if kind == "error":
                raise value  # type: ignore[misc]
            if kind == "done":
                return
            yield value  # type: ignore[misc]
    finally:
        token.cancel()


def stoppable(fn: Callable[..., tuple], outputs: int) -> Callable[..., Iterator[tuple]]:
    """A handler that returns its ``outputs`` values once, as a generator handler that Stop or a closed page ends
    at the next tile: ``fn`` runs in :func:`in_worker`, where its :func:`ui.common.tile_progress` callbacks check for
    cancellation, and every :data:`HEARTBEAT_S` until it returns the outputs are left unchanged (``gr.skip()``)."""
    @functools.wraps(fn)
    def handler(*args, **kwargs) -> Iterator[tuple]:
        for item in in_worker(lambda token: [fn(*args, **kwargs)]):
            yield (gr.skip(),) * outputs if item is None else item

    return handler


def check_cancelled() -> None:
    """In :func:`in_worker`, raise :class:`~enhancers.errors.Cancelled` once the run is cancelled (elsewhere,
    nothing): progress callbacks call it between tiles and steps."""
    token = _RUN_TOKEN.get()
    if token is not None:
        token.check()
