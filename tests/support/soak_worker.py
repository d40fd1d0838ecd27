"""Soak worker, run by tests/unit/test_soak.py in its own process:

    python tests/support/soak_worker.py '{"port": ..., "key": ..., "known_hosts": ..., "base": ...,
                                  "hosts": 100, "runs": 2, "sshd_pid": ..., "transport": "shell"}'

Patches gevent first, like the CLI, then deploys 20 operations to `hosts` loopback
hosts (127.0.0.2, 127.0.0.3, ...: all the same test sshd) `runs` times in this one
process, each time with a new State: connect_all, build, run_operations,
disconnect_all. Prints one JSON line before the first run (the baseline) and one after
each run, measuring what a leak would make grow: memory, live greenlets and threads,
open file descriptors, paramiko transports and channels, and the sshd sessions the
server still holds for us.
"""

from gevent import monkey

monkey.patch_all()

import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import weakref  # noqa: E402

import gevent  # noqa: E402
import gevent.threadpool  # noqa: E402
import greenlet  # noqa: E402
import paramiko  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from pyinfra.api import Config, Inventory, State  # noqa: E402
from pyinfra.api.build import build  # noqa: E402
from pyinfra.api.run import connect_all, disconnect_all, run_operations  # noqa: E402
from pyinfra.modules import files, server  # noqa: E402

TEMPLATE = """# {{ host.name }}
listen={{ listen }}
enabled=no
"""


def deploy(put_source: str, template_source: str) -> None:
    """The deploy: 20 operations, the same call for every host (so each is one
    operation across all hosts), each host working under its own `root`."""
    root = "{{ host.data.root }}"
    files.directory(root)
    files.directory(f"{root}/etc", mode=755)
    files.directory(f"{root}/var/log/app")
    files.directory(f"{root}/cache/a/b/c", mode=700)
    files.file(f"{root}/etc/empty")
    files.file(f"{root}/etc/secret", mode=600)
    files.file(f"{root}/etc/touched", touch=True)
    files.put(put_source, f"{root}/etc/blob.bin")
    files.put(template_source, f"{root}/etc/app.conf.jn2", mode=644)
    files.template(template_source, f"{root}/etc/app.conf", listen="{{ host.name }}:80")
    files.line(f"{root}/etc/hosts", "127.0.0.1 localhost")
    files.line(f"{root}/etc/hosts", "{{ host.name }} self")
    files.line(f"{root}/etc/hosts", "^stale", present=False)
    files.link(f"{root}/current", target=f"{root}/etc")
    files.link(f"{root}/logs", target="var/log/app")
    server.shell(f"date +%s%N >> {root}/var/log/app/runs")
    server.shell([f"test -d {root}/cache/a/b/c", f"test -L {root}/current"])
    server.shell(f"wc -l < {root}/etc/hosts > {root}/etc/hosts.count")
    server.shell("true", chdir=root)
    files.directory(f"{root}/old", present=False)


def server_sessions(sshd_pid: int) -> int:
    """Per-connection processes the test sshd still runs (its children)."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == sshd_pid and fields[0] != "Z":
            count += 1
    return count


def settled_server_sessions(sshd_pid: int, seconds: float = 10) -> int:
    # sshd notices a closed connection a moment after the client closes it.
    deadline = time.monotonic() + seconds
    while True:
        count = server_sessions(sshd_pid)
        if count == 0 or time.monotonic() > deadline:
            return count
        gevent.sleep(0.05)


def status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def is_gevent_machinery(item, hub) -> bool:
    """The hub, and the threads (with their greenlets) of gevent's thread pool, which
    resolves host names; they come and go on their own and belong to no connection."""
    return item is hub or item.parent is None or isinstance(item, gevent.threadpool._WorkerGreenlet)


def instances(objects: list, cls: type) -> list:
    # A weak proxy passes isinstance for the class of what it points to.
    return [o for o in objects if isinstance(o, cls) and not isinstance(o, weakref.ProxyTypes)]


def measure(inventory: Inventory, sshd_pid: int) -> dict:
    gc.collect()
    hub = gevent.get_hub()
    objects = gc.get_objects()
    greenlets = [
        o
        for o in objects
        if isinstance(o, greenlet.greenlet) and not o.dead and not is_gevent_machinery(o, hub)
    ]
    transports = instances(objects, paramiko.Transport)
    channels = instances(objects, paramiko.Channel)
    pool = getattr(hub, "_threadpool", None)
    return {
        "rss_kb": status_kb("VmRSS"),
        "peak_rss_kb": status_kb("VmHWM"),
        "greenlets": len(greenlets),
        "greenlet_places": sorted({describe(g) for g in greenlets})[:10],
        "threads": len(threading.enumerate()),
        "resolver_threads": len(pool) if pool is not None else 0,
        "fds": len(os.listdir("/proc/self/fd")),
        "transports": len(transports),
        "transports_active": sum(1 for t in transports if t.is_active()),
        "channels_open": sum(1 for c in channels if not c.closed),
        "ssh_clients": len(instances(objects, paramiko.SSHClient)),
        "hosts_connected": sum(1 for host in inventory if host.connected),
        "server_sessions": settled_server_sessions(sshd_pid),
    }


def describe(item) -> str:
    """Where a greenlet is (for the report when one is left behind)."""
    frame = item.gr_frame
    while frame is not None and frame.f_back is not None and "gevent" in frame.f_code.co_filename:
        frame = frame.f_back
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "not started"
    return f"{type(item).__name__} at {where}"


def run_once(inventory: Inventory, put_source: str, template_source: str, transport: str) -> dict:
    timings = {}
    started = time.monotonic()
    state = State(inventory, Config(SSH_TRANSPORT=transport))
    connect_all(state)
    timings["connect"] = time.monotonic() - started
    connected = sum(1 for host in inventory if host.connected)

    mark = time.monotonic()
    build(state, lambda host: deploy(put_source, template_source))
    timings["build"] = time.monotonic() - mark

    mark = time.monotonic()
    ok = run_operations(state)
    timings["run"] = time.monotonic() - mark

    mark = time.monotonic()
    disconnect_all(state)
    timings["disconnect"] = time.monotonic() - mark
    timings["total"] = time.monotonic() - started

    ops_done = [state.results[host].ops_done for host in inventory]
    return {
        "ok": ok,
        "connected": connected,
        "operations": len(state.op_order),
        "ops_done_min": min(ops_done),
        "ops_done_max": max(ops_done),
        "ops_changed": sum(state.results[host].ops_changed for host in inventory),
        "failed": {host.name: state.results[host].error for host in inventory if state.results[host].failed},
        "seconds": {name: round(value, 2) for name, value in timings.items()},
    }


def main(args: dict) -> None:
    base = args["base"]
    local = os.path.join(base, "_local")
    os.makedirs(local, exist_ok=True)
    put_source = os.path.join(local, "blob.bin")
    with open(put_source, "wb") as handle:
        handle.write(bytes(range(256)) * 64)
    template_source = os.path.join(local, "app.conf.jn2")
    with open(template_source, "w") as handle:
        handle.write(TEMPLATE)

    names = [f"127.0.0.{2 + index}" for index in range(args["hosts"])]
    hosts = {
        name: {
            "ssh_port": args["port"],
            "ssh_key": args["key"],
            "ssh_known_hosts_file": args["known_hosts"],
            "root": os.path.join(base, name),
        }
        for name in names
    }
    inventory = Inventory.from_layers(hosts, {"all": names})

    print(json.dumps({"phase": "baseline", **measure(inventory, args["sshd_pid"])}), flush=True)
    for number in range(1, args["runs"] + 1):
        result = run_once(inventory, put_source, template_source, args.get("transport", "shell"))
        measured = measure(inventory, args["sshd_pid"])
        print(json.dumps({"phase": "run", "run": number, **result, **measured}), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
