"""The `pyinfra` command. Importing this package patches the process for gevent, so
only the command itself imports it; `pyinfra.api` patches nothing."""

from importlib import metadata

import gevent.events
from gevent import monkey


def patch_for_gevent() -> None:
    """`monkey.patch_all()`, with the installed packages' gevent plugins looked up once.
    gevent looks them up again for each module it patches: 25 reads of every installed
    package's entry points, 60-90 ms of every run in an environment of 100 packages.
    Plugins that are installed are still called, with the same events."""
    notify = getattr(gevent.events, "notify", None)
    original = getattr(gevent.events, "notify_and_call_entry_points", None)
    if notify is None or original is None:  # another gevent: its own way
        monkey.patch_all()
        return
    found = metadata.entry_points()

    def plugins(group: str):
        if hasattr(found, "select"):
            return found.select(group=group)
        return found.get(group, ())  # Python 3.9: a dict of groups

    def notify_and_call_entry_points(event) -> None:
        notify(event)
        for plugin in plugins(event.ENTRY_POINT_NAME):
            plugin.load()(event)

    gevent.events.notify_and_call_entry_points = notify_and_call_entry_points
    try:
        monkey.patch_all()
    finally:
        gevent.events.notify_and_call_entry_points = original


patch_for_gevent()

from pyinfra.cli.main import cli  # noqa: E402

__all__ = ["cli"]
