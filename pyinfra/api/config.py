"""Deploy-wide settings: defaults, overridden by config.py then the deploy file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields


@dataclass
class Config:
    """Options a deploy may set as top-level UPPER_CASE names (config.py or deploy)."""

    # Seconds to connect and authenticate one host.
    TIMEOUT: float = 10
    # Share of failed hosts (percent) beyond which the deploy stops; None: never.
    FAIL_PERCENT: float | None = None
    SUDO: bool = False
    SUDO_USER: str | None = None
    SU_USER: str | None = None
    IGNORE_ERRORS: bool = False
    # A failed operation runs again from its first command up to RETRIES more times,
    # RETRY_DELAY seconds apart (the retries= and retry_delay= operation arguments).
    RETRIES: int = 0
    RETRY_DELAY: float = 5
    ENV: dict = field(default_factory=dict)
    # Hosts worked on at once; None: all of them.
    PARALLEL: int | None = None
    # Where uploads wait before sudo moves them beside their target.
    TEMP_DIR: str = "/tmp"
    # How commands reach an SSH host: "shell" keeps one remote shell per host (and
    # identity) open for the run; "exec" opens one SSH channel per command.
    SSH_TRANSPORT: str = field(default_factory=lambda: os.environ.get("PYINFRA_SSH_TRANSPORT", "shell"))

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def update(self, values: dict) -> None:
        """Take every known option from `values`; unknown UPPER_CASE names are ignored
        because deploy files use them for their own constants too."""
        for name in self.names():
            if name in values:
                setattr(self, name, values[name])
