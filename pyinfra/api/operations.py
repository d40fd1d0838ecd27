"""Running a deploy's operations: `run_ops(state)`, pyinfra 0.1's API call."""

from __future__ import annotations

from pyinfra.api.exceptions import DeployError
from pyinfra.api.run import run_operations
from pyinfra.api.state import State


def run_ops(state: State, serial: bool = False, no_wait: bool = False) -> None:
    """Run every operation added to the state, between the run's before_deploy and
    after_deploy hooks: operation by operation, each on all its hosts in parallel;
    `serial`: each operation host by host; `no_wait`: each host runs through its
    operations at its own pace.

    A failed command stops its host only; what each host and operation did is then in
    `state.results` and in the meta add_op returned. Raises DeployError when more than
    FAIL_PERCENT of the hosts failed (after the after_deploy hooks), and what a hook
    raises."""
    state.call_hooks("before_deploy")
    completed = run_operations(state, serial=serial, no_wait=no_wait, events=state.events)
    state.call_hooks("after_deploy")
    if not completed:
        raise DeployError("too many hosts failed (FAIL_PERCENT): the deploy stopped")
