"""A private, real OpenSSH server for end-to-end tests.

No pytest dependency: ``tests/conftest.py`` wraps this in fixtures, but the
module can be used from any script::

    server = TestSSHD()
    server.start()
    try:
        ...  # ssh -i server.client_key -p server.port root@127.0.0.2
    finally:
        server.stop()

The server listens on 0.0.0.0, so every loopback address (127.0.0.1,
127.0.0.2, 127.0.0.3, ...) reaches it - handy for tests that need several
"different" hosts.
"""

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

SSHD_BINARY = "/usr/sbin/sshd"
PRIVSEP_DIR = "/run/sshd"
START_TIMEOUT = 10.0


def ensure_sshd_installed():
    """Install openssh-server (and sudo, which the guide's examples use, and fish, the
    login shell of a test user) with apt-get when missing. Raises RuntimeError if still
    missing afterwards (never skips).
    """
    packages = []
    if not os.path.exists(SSHD_BINARY):
        packages.append("openssh-server")
    if not shutil.which("sudo"):
        packages.append("sudo")
    if not shutil.which("fish"):
        packages.append("fish")
    if not packages:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    output = []
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", *packages],
    ):
        try:
            proc = subprocess.run(
                cmd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        except OSError as exc:
            output.append("$ {}\n{}".format(" ".join(cmd), exc))
            break
        output.append("$ {}\n{}".format(" ".join(cmd), proc.stdout))
    if not os.path.exists(SSHD_BINARY) or not shutil.which("sudo") or not shutil.which("fish"):
        raise RuntimeError("installing {} failed:\n{}".format(" ".join(packages), "\n".join(output)))


def free_port(host="127.0.0.1"):
    """Return a TCP port that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _children_by_parent():
    """Map pid -> list of child pids, read from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/{}/stat".format(entry)) as f:
                stat = f.read()
        except OSError:
            continue
        # The command name (field 2) may contain spaces; it is in parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        ppid = int(fields[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _descendants(pid):
    """All descendant pids of ``pid`` (children, grandchildren, ...)."""
    children = _children_by_parent()
    result = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            result.append(child)
            todo.append(child)
    return result


class TestSSHD:
    """A throwaway sshd on a free port, with its own host and client keys.

    Attributes (valid after ``start()``):

    - ``dir``: the temp dir holding keys, config, log and pid file
    - ``port``: the TCP port sshd listens on (all interfaces)
    - ``client_key``: path to the client private key (ed25519, no passphrase)
    - ``client_public_key``: path to the client public key
    - ``host_key`` / ``host_public_key``: paths to the host key pair
    - ``known_hosts``: path to an empty known_hosts file for tests to use
    - ``config_path``, ``log_path``: sshd_config and sshd stderr log
    - ``user``: the login user ("root")
    """

    __test__ = False  # not a test class, despite the name

    user = "root"

    def __init__(self, sshd_binary=SSHD_BINARY, start_timeout=START_TIMEOUT, max_startups=500):
        self.sshd_binary = sshd_binary
        self.start_timeout = start_timeout
        # Connections not yet authenticated that sshd accepts at once (MaxStartups):
        # beyond half of it, it starts dropping some at random; at it, all. The bench
        # raises it for its 1,000-host runs.
        self.max_startups = max_startups
        self.dir = None
        self.port = None
        self.process = None
        self._log_file = None
        # sshd_config lines added after the defaults (Match blocks go last): test users
        # (tests/support/users.py) and chroot hosts (tests/support/chroot.py) add theirs before start().
        self.extra_config = []

    # Paths inside the temp dir

    def _path(self, name):
        return os.path.join(self.dir, name)

    @property
    def client_key(self):
        return self._path("client_key")

    @property
    def client_public_key(self):
        return self._path("client_key.pub")

    @property
    def host_key(self):
        return self._path("host_key")

    @property
    def host_public_key(self):
        return self._path("host_key.pub")

    @property
    def known_hosts(self):
        return self._path("known_hosts")

    @property
    def authorized_keys(self):
        return self._path("authorized_keys")

    @property
    def config_path(self):
        return self._path("sshd_config")

    @property
    def log_path(self):
        return self._path("sshd.log")

    @property
    def pid_path(self):
        return self._path("sshd.pid")

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # Lifecycle

    def start(self):
        if self.process is not None:
            raise RuntimeError("TestSSHD already started")
        self.dir = tempfile.mkdtemp(prefix="pyinfra-test-sshd-")
        try:
            self._generate_keys()
            with open(self.known_hosts, "w"):
                pass
            os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
            os.chmod(PRIVSEP_DIR, 0o755)
            # Finding a free port and binding it in sshd is racy, so retry
            # a few times if another process grabbed the port meanwhile.
            for attempt in range(3):
                self.port = free_port()
                self._write_config()
                self._spawn()
                try:
                    self._wait_ready()
                    return self
                except RuntimeError:
                    log = self.read_log()
                    self._terminate()
                    if "Address already in use" in log and attempt < 2:
                        continue
                    raise
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        self._terminate()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def kill(self):
        """Stop the server and every session it serves, keeping its keys and config:
        the host going down (server.reboot's tests)."""
        self._terminate()

    def respawn(self):
        """Start the killed server again, on the same port with the same keys: the
        host back up."""
        self._spawn()
        self._wait_ready()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # Internals

    def _generate_keys(self):
        for path, comment in (
            (self.host_key, "pyinfra-test-host"),
            (self.client_key, "pyinfra-test-client"),
        ):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        os.chmod(self.client_key, 0o600)
        os.chmod(self.host_key, 0o600)
        shutil.copyfile(self.client_public_key, self.authorized_keys)
        # Non-root test logins (tests/support/users.py) read the authorized key too: the
        # directory may be passed through (not listed), the public key read.
        os.chmod(self.dir, 0o711)
        os.chmod(self.authorized_keys, 0o644)

    def _write_config(self):
        lines = [
            "Port {}".format(self.port),
            "ListenAddress 0.0.0.0",
            "HostKey {}".format(self.host_key),
            "PidFile {}".format(self.pid_path),
            "AuthorizedKeysFile {}".format(self.authorized_keys),
            "StrictModes no",
            "UsePAM no",
            "PermitRootLogin yes",
            "PubkeyAuthentication yes",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "MaxStartups {}:30:{}".format(self.max_startups, 2 * self.max_startups),
            "MaxSessions 500",
            "UseDNS no",
            "PrintMotd no",
            "LogLevel ERROR",
            "Subsystem sftp internal-sftp",
        ]
        lines += self.extra_config
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _spawn(self):
        if self._log_file is not None:
            self._log_file.close()
        self._log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [self.sshd_binary, "-D", "-e", "-f", self.config_path],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=self._log_file,
            preexec_fn=_raise_open_files_limit,
        )

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                last_error = "sshd exited with code {}".format(self.process.returncode)
                break
            try:
                banner = self._read_banner()
            except OSError as exc:
                last_error = "connect/read failed: {!r}".format(exc)
            else:
                if banner.startswith(b"SSH-"):
                    return
                last_error = "unexpected banner: {!r}".format(banner)
            time.sleep(0.05)
        else:
            last_error = "timed out after {:.0f}s ({})".format(self.start_timeout, last_error)
        raise RuntimeError(
            "test sshd on port {} did not become ready: {}\n--- sshd log ---\n{}".format(
                self.port, last_error, self.read_log()
            )
        )

    def _read_banner(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            data = b""
            while len(data) < 4:
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
            return data

    def _terminate(self):
        process, self.process = self.process, None
        if process is not None:
            # Per-connection sshd processes call setsid(), so they are not in
            # our process group: collect them before the listener dies.
            children = _descendants(process.pid)
            if process.poll() is None:
                process.terminate()
            for pid in children:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            deadline = time.monotonic() + 5
            for pid in children:
                while time.monotonic() < deadline and _alive(pid):
                    time.sleep(0.02)
                if _alive(pid):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def _raise_open_files_limit():
    """In sshd before exec: its soft limit of open files up to the hard one. The listener
    holds a pipe for each connection still authenticating (up to MaxStartups)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _alive(pid):
    """True if ``pid`` exists and is not a zombie."""
    try:
        with open("/proc/{}/stat".format(pid)) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


@contextlib.contextmanager
def hang_server(host="127.0.0.1"):
    """A TCP listener that accepts connections and never sends anything.

    For "host that hangs" tests. Yields the port; closes everything on exit.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(128)
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    stop = threading.Event()
    accepted = []

    def accept_loop():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            accepted.append(conn)  # hold it open, never send

    thread = threading.Thread(target=accept_loop, name="hang-server-{}".format(port), daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in accepted:
            with contextlib.suppress(OSError):
                conn.close()


def session_pids(address, port):
    """Pids of the sshd processes serving connections made to `address`:`port` (the
    server side of each TCP connection whose local end is that address)."""
    wanted = "{}:{:04X}".format(
        "".join("{:02X}".format(int(part)) for part in reversed(address.split("."))), port
    )
    inodes = set()
    with open("/proc/net/tcp") as handle:
        next(handle)
        for line in handle:
            fields = line.split()
            if fields[1] == wanted and fields[3] == "01":  # ESTABLISHED
                inodes.add(fields[9])
    pids = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    pids.add(int(pid))
        except OSError:
            continue
    own = os.getpid()
    result = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as handle:
                if handle.read().strip().startswith("sshd") and pid != own:
                    result.append(pid)
        except OSError:
            pass
    return sorted(result)


def signal_sessions(address, port, signum):
    """Send `signum` to the sshd processes serving `address`; returns their pids."""
    pids = session_pids(address, port)
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    return pids
