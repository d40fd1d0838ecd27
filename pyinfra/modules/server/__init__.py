"""Commands and scripts, waiting, users and their SSH keys, cron jobs, system settings, reboots.

Shell commands and scripts, waiting for a port, users and groups and their authorized
keys, crontab entries, the hostname, timezone, locales, kernel parameters (sysctl) and
mounts, and rebooting a host and waiting until it answers again.
"""

# The operations in the order the docs list them (gendocs follows these imports), not
# sorted by file name.
# isort: off
from pyinfra.modules import unknown_operation
from pyinfra.modules.server.commands import script, shell, wait
from pyinfra.modules.server.users import authorized_keys, group, user, user_authorized_keys
from pyinfra.modules.server.cron import crontab
from pyinfra.modules.server.system import hostname, locale, mount, sysctl, timezone
from pyinfra.modules.server.reboot import reboot

# isort: on

__all__ = [
    "shell",
    "script",
    "wait",
    "group",
    "user",
    "user_authorized_keys",
    "authorized_keys",
    "crontab",
    "hostname",
    "timezone",
    "locale",
    "sysctl",
    "mount",
    "reboot",
]

__getattr__ = unknown_operation(__name__)
