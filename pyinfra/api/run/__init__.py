"""Phases 3 and 8: connecting (connect.py), then running what the build planned:
operation steps on one host (steps.py), the order they run in (schedule.py), the
--no-wait chains (chain.py) and the facts read at run time inside the round trips
the run makes anyway (reads.py)."""

from pyinfra.api.run.connect import CONNECT_AT_ONCE, connect_all, disconnect_all, interrupt_all
from pyinfra.api.run.schedule import run_operations

__all__ = ["CONNECT_AT_ONCE", "connect_all", "disconnect_all", "interrupt_all", "run_operations"]
