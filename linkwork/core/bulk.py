"""Helpers for work over whole zones at once (claim runs, screening rounds, loads)."""

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector for a bulk computation.

    Such work makes hundreds of thousands of small objects (facts, achievements, lines)
    and keeps them to the end; none of them form cycles, so reference counting frees
    them as usual, but each automatic collection would walk every one of them again. The
    collector resumes afterwards (if it was running)."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()
