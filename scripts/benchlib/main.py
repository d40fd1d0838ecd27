"""The bench itself: see ``scripts/bench --help`` and issue 6."""

import argparse
import ast
import importlib.util
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

from benchlib import deploy, measure
from benchlib.proxy import DelayProxy

SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(SCRIPTS_DIR)
BENCH_SCRIPT = os.path.join(SCRIPTS_DIR, "bench")
SSHD_MODULE = os.path.join(REPO_DIR, "tests", "support", "sshd.py")

DEFAULT_LATENCY_MS = 25.0
# Hard stop for one run of a tool, so a hung run cannot hang the bench.
RUN_TIMEOUT = 3600
FLOOR_CONNECT_TIMEOUT = 120


def log(message):
    print(message, file=sys.stderr, flush=True)


def fail(message, output=None):
    if output:
        print(output.rstrip("\n"), file=sys.stderr)
    log("bench: {}".format(message))
    raise SystemExit(1)


# -- arguments ---------------------------------------------------------------------------


def host_counts(text):
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected numbers separated by commas, got {!r}".format(text))
    if not counts or any(count < 1 or count > 60000 for count in counts):
        raise argparse.ArgumentTypeError("host counts must be between 1 and 60000")
    return counts


def config_setting(text):
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier() or not name.isupper():
        raise argparse.ArgumentTypeError("expected NAME=VALUE with an UPPER_CASE name, got {!r}".format(text))
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value
    return name, parsed


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=(
            "Run the 7-step deploy twice through the real pyinfra command against N "
            "loopback hosts of a private sshd, measure the one-session floor (one SSH "
            "session and one exec per host) with the same work, and print both with "
            "their ratio."
        ),
        epilog=(
            "Optional rows: BENCH_PYINFRA3=/path/to/venv/bin/pyinfra and "
            "BENCH_ANSIBLE=/path/to/venv/bin/ansible-playbook add pyinfra 3 and Ansible "
            "columns when those executables exist."
        ),
    )
    parser.add_argument(
        "--hosts", type=host_counts, default=[5, 25], metavar="N,N,...", help="host counts (default 5,25)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        nargs="?",
        const=DEFAULT_LATENCY_MS,
        default=None,
        metavar="MS",
        help="put a proxy delaying every chunk by MS ms each way in front of sshd "
        "(default off; without a value: {:g})".format(DEFAULT_LATENCY_MS),
    )
    parser.add_argument(
        "--user",
        default="root",
        metavar="NAME",
        help="log in as NAME (default root); another name is created when missing, with "
        "/bin/sh as its shell, so no login rc file weighs on the figures",
    )
    parser.add_argument("--runs", type=int, default=1, metavar="N", help="repeat, report medians (default 1)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp deploy directories and /tmp/pyinfra-bench"
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="run pyinfra with --no-wait (each host at its own pace, operations chained)",
    )
    parser.add_argument(
        "--config",
        type=config_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a line for the deploy's config.py (repeatable), e.g. TIMEOUT=60",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.latency is not None and args.latency < 0:
        parser.error("--latency must not be negative")
    return args


# -- helpers -------------------------------------------------------------------------------


def load_sshd_module():
    spec = importlib.util.spec_from_file_location("bench_test_sshd", SSHD_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def login_user(name, sshd):
    """Make `name` able to log in to the test sshd with the client key: create it when
    missing (shell /bin/sh, which reads no rc file), let it read authorized_keys."""
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        log("bench: creating user {} (shell /bin/sh)".format(name))
        subprocess.run(["useradd", "-M", "-d", "/tmp", "-s", "/bin/sh", name], check=True)
        subprocess.run(["usermod", "-p", "*", name], check=True)  # not locked, no password
    os.chmod(os.path.dirname(sshd.authorized_keys), 0o711)
    os.chmod(sshd.authorized_keys, 0o644)


def clean_base():
    shutil.rmtree(deploy.BASE, ignore_errors=True)
    if os.path.exists(deploy.BASE):
        fail("cannot remove {}".format(deploy.BASE))


def snapshot(names):
    """(inode, mtime) of what a second run must leave alone."""
    state = {}
    for name in names:
        for leaf in ("app.conf", "motd", "log", "current"):
            path = os.path.join(deploy.tree(name), leaf)
            try:
                info = os.lstat(path)
            except OSError:
                state[path] = None
                continue
            state[path] = (info.st_ino, info.st_mtime_ns, info.st_mode)
    return state


def changed_paths(before, after):
    return sorted(path for path in before if before[path] != after.get(path))


def save_log(logs_dir, label, result):
    path = os.path.join(logs_dir, label + ".log")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("$ cd {} && {}\n".format(shlex.quote(result.cwd or "."), shlex.join(result.argv)))
        handle.write(
            "exit code {}, {:.3f} s, peak RSS {} kB\n\n".format(
                result.returncode, result.seconds, result.peak_kb
            )
        )
        handle.write(result.output)
    return path


def run_tool(label, argv, cwd, logs_dir, env=None):
    result = measure.run(argv, cwd=cwd, env=env, timeout=RUN_TIMEOUT)
    path = save_log(logs_dir, label, result)
    if not result.ok:
        fail(
            "{} failed with exit code {} after {:.2f} s (log: {})\n  $ cd {} && {}".format(
                label, result.returncode, result.seconds, path, shlex.quote(cwd), shlex.join(argv)
            ),
            result.output,
        )
    return result


def run_floor(spec_path, label):
    argv = [sys.executable, BENCH_SCRIPT, "--floor-worker", spec_path]
    result = measure.run(argv, timeout=RUN_TIMEOUT)
    try:
        report = json.loads(result.output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        report = None
    if not result.ok or report is None:
        detail = result.output
        if report and report.get("errors"):
            errors = report["errors"]
            detail = "\n".join("{}: {}".format(name, error) for name, error in sorted(errors.items())[:20])
            if len(errors) > 20:
                detail += "\n... and {} more host(s)".format(len(errors) - 20)
        fail("{} failed (exit code {})\n  $ {}".format(label, result.returncode, shlex.join(argv)), detail)
    return report["seconds"], report.get("connect_at_once")


def optional_tool(variable):
    path = os.environ.get(variable)
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return None


def fmt_seconds(value):
    return "-" if value is None else "{:.2f} s".format(value)


def fmt_pair(first, second):
    return "{} / {}".format(fmt_seconds(first), fmt_seconds(second))


def fmt_ratio(value, floor):
    return "{:.1f}x".format(value / floor) if floor else "-"


# -- one host count -------------------------------------------------------------------------


def bench_count(count, args, context):
    names = deploy.host_names(count)
    directory = os.path.join(context["workdir"], "{}-hosts".format(count))
    logs_dir = os.path.join(directory, "logs")
    port = context["port"]
    known_hosts = os.path.join(directory, "known_hosts")
    os.makedirs(directory, exist_ok=True)
    deploy.write_known_hosts(known_hosts, names, port, context["host_public_key"])

    pyinfra_dir = os.path.join(directory, "pyinfra")
    deploy.write_pyinfra_deploy(
        pyinfra_dir, names, port, context["client_key"], known_hosts, config=dict(args.config), user=args.user
    )
    pyinfra_argv = (
        context["pyinfra"] + ["inventory.py", "deploy.py"] + (["--no-wait"] if args.no_wait else [])
    )

    spec_path = os.path.join(directory, "floor.json")
    with open(spec_path, "w") as handle:
        json.dump(
            {
                "hosts": {name: deploy.floor_script(name) for name in names},
                "port": port,
                "user": args.user,
                "client_key": context["client_key"],
                "known_hosts": known_hosts,
                "timeout": FLOOR_CONNECT_TIMEOUT,
            },
            handle,
        )

    extra = []  # (column label, argv, cwd, env)
    if context["pyinfra3"]:
        v3_dir = os.path.join(directory, "pyinfra3")
        deploy.write_pyinfra3_deploy(v3_dir, names, port, context["client_key"], known_hosts, user=args.user)
        extra.append(("pyinfra 3", [context["pyinfra3"], "-y", "inventory.py", "deploy.py"], v3_dir, None))
    if context["ansible"]:
        ansible_dir = os.path.join(directory, "ansible")
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        deploy.write_ansible_deploy(
            ansible_dir, names, port, context["client_key"], known_hosts, python, user=args.user
        )
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ansible_dir, "ansible.cfg"))
        extra.append(
            ("ansible", [context["ansible"], "-i", "inventory.ini", "playbook.yml"], ansible_dir, env)
        )

    connect_spec_path = os.path.join(directory, "connect.json")
    with open(spec_path) as handle, open(connect_spec_path, "w") as out:
        json.dump(dict(json.load(handle), connect_only=True), out)

    samples = {key: [] for key in ("floor1", "floor2", "pyinfra1", "pyinfra2", "connect", "cpu1", "cpu2")}
    for label, *_ in extra:
        samples[label + "1"] = []
        samples[label + "2"] = []
    peak_kb = []
    warnings = []
    for run in range(1, args.runs + 1):
        tag = "[{} hosts, run {}/{}]".format(count, run, args.runs)

        clean_base()
        for shape in ("1", "2"):
            seconds, at_once = run_floor(
                spec_path, "floor worker ({} hosts, {} run shape)".format(count, shape)
            )
            samples["floor" + shape].append(seconds)
            context["floor_at_once"] = at_once
            log("{} floor {} run: {:.2f} s".format(tag, "first" if shape == "1" else "second", seconds))
        if args.latency:
            seconds, _ = run_floor(connect_spec_path, "connect-only worker ({} hosts)".format(count))
            samples["connect"].append(seconds)
            log("{} connect only: {:.2f} s".format(tag, seconds))
        problems = deploy.check_trees(names)
        if problems:
            fail("the floor script did not do the deploy's work:\n  " + "\n  ".join(problems[:20]))

        clean_base()
        first = run_tool("pyinfra-first-run{}".format(run), pyinfra_argv, pyinfra_dir, logs_dir)
        samples["pyinfra1"].append(first.seconds)
        add_cpu(samples["cpu1"], first, count)
        log(
            "{} pyinfra first run: {:.2f} s, peak RSS {}, CPU {} per host".format(
                tag, first.seconds, fmt_kb(first.peak_kb), fmt_ms(cpu_per_host(first, count))
            )
        )
        problems = deploy.check_trees(names)
        if problems:
            fail(
                "pyinfra exited 0 but the hosts' trees are not as the deploy says:\n  "
                + "\n  ".join(problems[:20]),
                first.output,
            )
        before = snapshot(names)
        second = run_tool("pyinfra-second-run{}".format(run), pyinfra_argv, pyinfra_dir, logs_dir)
        samples["pyinfra2"].append(second.seconds)
        add_cpu(samples["cpu2"], second, count)
        log(
            "{} pyinfra second run: {:.2f} s, peak RSS {}, CPU {} per host".format(
                tag, second.seconds, fmt_kb(second.peak_kb), fmt_ms(cpu_per_host(second, count))
            )
        )
        changed = changed_paths(before, snapshot(names))
        if changed:
            warnings.append(
                "{} hosts: the pyinfra second run changed {} path(s) it should have left alone, "
                "e.g. {}".format(count, len(changed), ", ".join(changed[:3]))
            )
        peak_kb.extend(value for value in (first.peak_kb, second.peak_kb) if value)

        for label, argv, cwd, env in extra:
            clean_base()
            slug = label.replace(" ", "")
            for shape, word in (("1", "first"), ("2", "second")):
                result = run_tool("{}-{}-run{}".format(slug, word, run), argv, cwd, logs_dir, env=env)
                samples[label + shape].append(result.seconds)
                log("{} {} {} run: {:.2f} s".format(tag, label, word, result.seconds))
                problems = deploy.check_trees(names) if shape == "1" else []
                if problems:
                    fail(
                        "{} exited 0 but the hosts' trees are not as the deploy says:\n  ".format(label)
                        + "\n  ".join(problems[:20]),
                        result.output,
                    )

    row = {key: statistics.median(values) for key, values in samples.items() if values}
    row["hosts"] = count
    row["peak_kb"] = max(peak_kb) if peak_kb else None
    row["warnings"] = warnings
    row["pyinfra_argv"] = pyinfra_argv
    row["pyinfra_dir"] = pyinfra_dir
    row["floor_argv"] = [sys.executable, BENCH_SCRIPT, "--floor-worker", spec_path]
    row["extra"] = [(label, argv, cwd) for label, argv, cwd, _ in extra]
    return row


def fmt_kb(value):
    return "-" if not value else "{:.0f} MB".format(value / 1024)


def cpu_per_host(result, count):
    """The run's user + system CPU in ms per host, or None when not measured."""
    return None if result.cpu_seconds is None else 1000.0 * result.cpu_seconds / count


def add_cpu(values, result, count):
    value = cpu_per_host(result, count)
    if value is not None:
        values.append(value)


def fmt_ms(value):
    return "-" if value is None else "{:.1f} ms".format(value)


# -- the table -------------------------------------------------------------------------------


def table(rows, latency_ms, extra_labels):
    header = [
        "hosts",
        "floor 1st / 2nd",
        "pyinfra 1st / 2nd",
        "ratio 1st / 2nd",
        "pyinfra peak RSS",
        "pyinfra CPU per host 1st / 2nd",
    ]
    if latency_ms:
        header.append("(pyinfra - floor) / RTT 1st / 2nd")
        header.append("(pyinfra - connect) / RTT 1st / 2nd")
    for label in extra_labels:
        header.append("{} 1st / 2nd".format(label))
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        cells = [
            str(row["hosts"]),
            fmt_pair(row["floor1"], row["floor2"]),
            fmt_pair(row["pyinfra1"], row["pyinfra2"]),
            "{} / {}".format(
                fmt_ratio(row["pyinfra1"], row["floor1"]), fmt_ratio(row["pyinfra2"], row["floor2"])
            ),
            fmt_kb(row["peak_kb"]),
            "{} / {}".format(fmt_ms(row.get("cpu1")), fmt_ms(row.get("cpu2"))),
        ]
        if latency_ms:
            rtt = 2 * latency_ms / 1000.0
            cells.append(
                "{:.1f} / {:.1f}".format(
                    (row["pyinfra1"] - row["floor1"]) / rtt, (row["pyinfra2"] - row["floor2"]) / rtt
                )
            )
            cells.append(
                "{:.1f} / {:.1f}".format(
                    (row["pyinfra1"] - row["connect"]) / rtt, (row["pyinfra2"] - row["connect"]) / rtt
                )
            )
        for label in extra_labels:
            cells.append(fmt_pair(row.get(label + "1"), row.get(label + "2")))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------


def _exit_on_signal(number, frame):
    # Turn SIGTERM / SIGHUP into SystemExit so that the finally blocks stop sshd, the
    # proxy and any running command, and remove the temp directories.
    raise SystemExit(128 + number)


def main(argv):
    args = parse_args(argv)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _exit_on_signal)
    sshd_module = load_sshd_module()
    log("bench: making sure openssh-server is installed")
    sshd_module.ensure_sshd_installed()

    context = {
        "pyinfra": measure.pyinfra_command(),
        "pyinfra3": optional_tool("BENCH_PYINFRA3"),
        "ansible": optional_tool("BENCH_ANSIBLE"),
    }
    extra_labels = [
        label for label, key in (("pyinfra 3", "pyinfra3"), ("ansible", "ansible")) if context[key]
    ]

    # Every host connects to the one sshd: let it take them all authenticating at once.
    sshd = sshd_module.TestSSHD(max_startups=max(500, max(args.hosts)))
    proxy = None
    workdir = tempfile.mkdtemp(prefix="pyinfra-bench-")
    context["workdir"] = workdir
    rows = []
    try:
        sshd.start()
        if args.user != "root":
            login_user(args.user, sshd)
        context["client_key"] = sshd.client_key
        context["host_public_key"] = sshd.host_public_key
        context["port"] = sshd.port
        if args.latency:
            proxy = DelayProxy(target_port=sshd.port, delay=args.latency / 1000.0).start()
            context["port"] = proxy.port
            log(
                "bench: delay proxy on port {} -> sshd on 127.0.0.1:{}, {:g} ms each way".format(
                    proxy.port, sshd.port, args.latency
                )
            )
        log("bench: sshd on port {}, work directory {}".format(sshd.port, workdir))
        clean_base()

        version = measure.run(context["pyinfra"] + ["--version"], timeout=120)
        if not version.ok:
            fail("`{} --version` failed".format(shlex.join(context["pyinfra"])), version.output)
        context["startup"] = version.seconds
        context["version"] = version.output.strip().splitlines()[-1] if version.output.strip() else "?"

        for count in args.hosts:
            rows.append(bench_count(count, args, context))
    finally:
        if proxy is not None:
            proxy.stop()
        sshd.stop()
        if args.keep:
            log("bench: kept {} and {}".format(workdir, deploy.BASE))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            shutil.rmtree(deploy.BASE, ignore_errors=True)

    print_report(args, context, rows, extra_labels, proxy)
    return 0


def print_report(args, context, rows, extra_labels, proxy):
    out = []
    out.append("$ scripts/bench " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "$ scripts/bench")
    cores = os.cpu_count()
    latency = "{:g} ms each way (proxy)".format(args.latency) if args.latency else "none (direct loopback)"
    out.append(
        "pyinfra: {} ({}); {} core(s); latency: {}; runs: {} (median); login: {}".format(
            shlex.join(context["pyinfra"]), context["version"], cores, latency, args.runs, args.user
        )
    )
    out.append("pyinfra startup (`--version`): {:.2f} s".format(context["startup"]))
    out.append("")
    out.append(table(rows, args.latency, extra_labels))
    out.append("")
    out.append("floor: connect + authenticate + one exec running the 7 steps' shell commands, all hosts")
    out.append(
        "at once (paramiko + gevent; at most {} handshakes in flight at once, as pyinfra), timed".format(
            context.get("floor_at_once") or "?"
        )
    )
    out.append("inside the worker (no interpreter start-up).")
    out.append(
        "pyinfra: wall time of the whole command, start-up included; peak RSS from {}; CPU per".format(
            "/usr/bin/time %M" if measure.have_gnu_time() else "/proc VmHWM polling"
        )
    )
    out.append(
        "host: the pyinfra process's user + system CPU ({}) / hosts, sshd's excluded.".format(
            "/usr/bin/time %U + %S" if measure.have_gnu_time() else "rusage of the bench's children"
        )
    )
    if args.latency:
        out.append(
            "(pyinfra - floor) / RTT: round trips spent beyond the floor, RTT = 2 x {:g} ms.".format(
                args.latency
            )
        )
        out.append(
            "(pyinfra - connect) / RTT: beyond connecting (every host connected and authenticated,\n"
            "nothing run, timed like the floor): the issue's latency target is under 15 on the 2nd run."
        )
    out.append("")
    out.append("commands (the paths are temporary{}):".format(", kept" if args.keep else ""))
    for row in rows:
        out.append("  {} hosts:".format(row["hosts"]))
        out.append(
            "    pyinfra: cd {} && {}".format(
                shlex.quote(row["pyinfra_dir"]), shlex.join(row["pyinfra_argv"])
            )
        )
        out.append("    floor:   {}".format(shlex.join(row["floor_argv"])))
        for label, argv, cwd in row["extra"]:
            out.append("    {}: cd {} && {}".format(label, shlex.quote(cwd), shlex.join(argv)))
    warnings = [warning for row in rows for warning in row["warnings"]]
    if proxy is not None and proxy.errors:
        warnings.append("proxy connection errors: " + "; ".join(proxy.errors[:5]))
    if warnings:
        out.append("")
        out.extend("warning: " + warning for warning in warnings)
    print("\n".join(out), flush=True)
