"""The `pyinfra` command. Importing this package patches the process for gevent, so
only the command itself imports it; `pyinfra.api` patches nothing."""

import gc
import os
import sys

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
    found = gevent_plugins()

    def notify_and_call_entry_points(event) -> None:
        notify(event)
        for plugin in found.get(event.ENTRY_POINT_NAME, ()):
            plugin()(event)

    gevent.events.notify_and_call_entry_points = notify_and_call_entry_points
    try:
        monkey.patch_all()
    finally:
        gevent.events.notify_and_call_entry_points = original


def gevent_plugins() -> dict:
    """{entry point group: [loader of each plugin]} for the gevent.plugins groups of
    the distributions on sys.path, read from their entry_points.txt files directly:
    importlib.metadata costs 10-20 ms to import, on every run. A path entry that is not
    a directory (a zip) is left to importlib.metadata."""
    if any(os.path.isfile(entry) for entry in sys.path if entry):
        return metadata_plugins()
    found: dict = {}
    for entry in sys.path:
        folder = entry or os.curdir
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                read_plugins(os.path.join(folder, name, "entry_points.txt"), found)
    return found


def read_plugins(path: str, found: dict) -> None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return
    if "gevent.plugins" not in text:
        return
    group = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            group = line.strip("[]").strip()
        elif group and group.startswith("gevent.plugins") and "=" in line and not line.startswith(("#", ";")):
            target = line.split("=", 1)[1].split("[")[0].strip()
            found.setdefault(group, []).append(lambda target=target: load_object(target))


def load_object(target: str):
    """`module:attr.attr` (an entry point's value) loaded."""
    import importlib

    module_name, _, attributes = target.partition(":")
    value = importlib.import_module(module_name.strip())
    for attribute in filter(None, attributes.strip().split(".")):
        value = getattr(value, attribute)
    return value


def metadata_plugins() -> dict:
    from importlib import metadata

    everything = metadata.entry_points()
    found: dict = {}
    groups = everything.groups if hasattr(everything, "groups") else everything.keys()
    for group in groups:
        if group.startswith("gevent.plugins"):
            if hasattr(everything, "select"):
                points = everything.select(group=group)
            else:
                points = everything[group]  # Python 3.9: a dict of groups
            found[group] = [point.load for point in points]
    return found


def collect_less_often() -> None:
    """Let the cyclic garbage collector run ten times less often than Python's default
    (700 allocations). A run keeps what it makes for every host (connections, facts,
    operations) to its end, so nearly every collection finds nothing; each full one
    walks the whole heap. At 1,000 hosts (250 MB) that was a third of the run's CPU:
    16 full collections, 3 s of 9. The garbage left meanwhile is a few thousand
    objects at most."""
    threshold, *older = gc.get_threshold()
    if 0 < threshold < GC_THRESHOLD:
        gc.set_threshold(GC_THRESHOLD, *older)


GC_THRESHOLD = 10_000

patch_for_gevent()
collect_less_often()

from pyinfra.cli.main import cli  # noqa: E402

__all__ = ["cli"]
