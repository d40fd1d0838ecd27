"""The one-session floor: every host at once, one SSH session and one exec each.

Run as ``scripts/bench --floor-worker SPEC.json`` (a subprocess of the bench), never
imported by the bench itself: importing this module monkey-patches the process with
gevent, as pyinfra's CLI does for itself.

SPEC holds ``hosts`` (name -> shell script), ``port``, ``user``, ``client_key``,
``known_hosts``, ``timeout``, optionally ``connect_at_once`` (handshakes in flight at
once, default CONNECT_AT_ONCE; the commands then run on every host at once) and
``connect_only`` (connect and authenticate, run nothing: what "beyond connecting" is
measured from). The worker prints one JSON object on stdout:
``{"seconds": ..., "errors": {host: message}, "hosts": N, "connect_at_once": N}``;
``seconds`` runs from before the first connection to the last host's exit status.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import gevent.lock  # noqa: E402
import paramiko  # noqa: E402

# Like pyinfra's own limit (api/run/connect.py CONNECT_AT_ONCE): key exchange costs CPU on
# both ends, and a thousand started at once would each run past the timeout.
CONNECT_AT_ONCE = 64


def known_keys(path):
    """known_hosts as {name: [(key type, key)]}, read once: paramiko's own load, done
    for each client, scans every entry for every line (seconds of CPU per host at
    1,000 hosts) and holds the whole file once per host."""
    keys = {}
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line.strip(), number)
            if entry is not None and entry.key is not None:
                for name in entry.hostnames:
                    keys.setdefault(name, []).append((entry.key.get_name(), entry.key))
    return keys


def run_host(name, script, spec, handshakes, keys):
    """Connect, authenticate (holding one of `handshakes`), run the script in one exec;
    None or an error message."""
    client = paramiko.SSHClient()
    lookup = name if spec["port"] == 22 else "[{}]:{}".format(name, spec["port"])
    for key_type, key in keys.get(lookup, ()):
        client.get_host_keys().add(lookup, key_type, key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    timeout = spec["timeout"]
    try:
        with handshakes:
            client.connect(
                hostname=name,
                port=spec["port"],
                username=spec["user"],
                key_filename=spec["client_key"],
                look_for_keys=False,
                allow_agent=False,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
            )
        if spec.get("connect_only"):
            return None
        channel = client.get_transport().open_session(timeout=timeout)
        channel.exec_command(script)
        channel.shutdown_write()
        stdout = channel.makefile("rb")
        stderr = channel.makefile_stderr("rb")
        reader = gevent.spawn(stderr.read)
        out = stdout.read()
        err = reader.get()
        status = channel.recv_exit_status()
        channel.close()
        if status != 0:
            return "exit status {}: {}{}".format(
                status, out.decode(errors="replace"), err.decode(errors="replace")
            ).strip()
        return None
    except Exception as error:  # report every failure, keep the other hosts going
        return "{}: {}".format(type(error).__name__, error)
    finally:
        client.close()


def sweep(spec):
    hosts = spec["hosts"]
    at_once = int(spec.get("connect_at_once") or CONNECT_AT_ONCE)
    handshakes = gevent.lock.BoundedSemaphore(at_once)
    start = time.monotonic()
    keys = known_keys(spec["known_hosts"])
    greenlets = {
        name: gevent.spawn(run_host, name, script, spec, handshakes, keys) for name, script in hosts.items()
    }
    gevent.joinall(list(greenlets.values()))
    seconds = time.monotonic() - start
    errors = {name: greenlet.value for name, greenlet in greenlets.items() if greenlet.value}
    return {"seconds": seconds, "errors": errors, "hosts": len(hosts), "connect_at_once": at_once}


def main(argv):
    if len(argv) != 1:
        print("usage: scripts/bench --floor-worker SPEC.json", file=sys.stderr)
        return 2
    with open(argv[0]) as handle:
        spec = json.load(handle)
    result = sweep(spec)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 1 if result["errors"] else 0
