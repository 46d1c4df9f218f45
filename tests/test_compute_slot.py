"""``enhancers.device.compute_slot``: how many model runs compute at once in a process."""

from __future__ import annotations

import threading
import time

import pytest

from enhancers import device


@pytest.fixture
def slots(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(device, "_slots", None)  # a fresh semaphore sized by the environment below
    yield
    monkeypatch.setattr(device, "_slots", None)


def test_slots_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENHANCERS_COMPUTE_SLOTS", "3")
    assert device.compute_slots() == 3
    monkeypatch.setenv("ENHANCERS_COMPUTE_SLOTS", "none")
    monkeypatch.setenv("ENHANCERS_DEVICE", "cpu")
    assert device.compute_slots() == 1


def test_one_slot_serialises_runs_and_is_reentrant(slots, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENHANCERS_COMPUTE_SLOTS", "1")
    inside, most = 0, 0
    lock = threading.Lock()

    def run() -> None:
        nonlocal inside, most
        with device.compute_slot():
            with device.compute_slot():  # nested in the same thread (e.g. tone curves inside a pipeline)
                with lock:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.05)
                with lock:
                    inside -= 1

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert most == 1 and inside == 0


def test_two_slots_let_two_runs_overlap(slots, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENHANCERS_COMPUTE_SLOTS", "2")
    both = threading.Barrier(2, timeout=5)

    def run() -> None:
        with device.compute_slot():
            both.wait()  # raises BrokenBarrierError unless both hold a slot at once

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not both.broken
