"""The global arguments every operation takes (sudo, sudo_user, su_user, env, ...):
taken out of the call's keyword arguments, with the deploy's config as defaults."""

from __future__ import annotations

from pyinfra.api.state import GLOBAL_ARGUMENTS, State


def pop_global_kwargs(state: State, kwargs: dict) -> dict:
    config = state.config
    defaults = {
        "sudo": config.SUDO,
        "sudo_user": config.SUDO_USER,
        "su_user": config.SU_USER,
        "ignore_errors": config.IGNORE_ERRORS,
        "env": dict(config.ENV or {}),
        "serial": False,
        "run_once": False,
        "timeout": None,
        "get_pty": False,
        "retries": config.RETRIES,
        "retry_delay": config.RETRY_DELAY,
    }
    values = {}
    for name in GLOBAL_ARGUMENTS:
        value = kwargs.pop(name, defaults[name])
        if name == "env" and value is not defaults["env"]:
            value = {**defaults["env"], **(value or {})}
        values[name] = value
    return values

