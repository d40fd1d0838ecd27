"""Where and how to log into one SSH host (or jump host): inventory data and CLI flags
first, then ssh_config, then built-in defaults."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field

from pyinfra.api.connectors.ssh.config import SSHConfigLookup, default_files, expand_tokens
from pyinfra.api.exceptions import ConnectError

STRICT_MODES = {"accept-new": "accept-new", "yes": "yes", "no": "no", "off": "no", "ask": "yes"}
MAX_JUMPS = 8


@dataclass
class Endpoint:
    """One SSH login: the target of a host, or one hop in front of it."""

    name: str  # as the user wrote it (inventory name, or the hop as written)
    hostname: str
    port: int
    user: str
    key_files: list[str] = field(default_factory=list)
    identities_only: bool = False
    # The jump host directly in front of this one (itself reached through its own).
    via: Endpoint | None = None
    proxy_command: str | None = None
    strict: str = "accept-new"
    known_hosts: list[str] = field(default_factory=list)
    global_known_hosts: list[str] = field(default_factory=list)
    connect_timeout: float | None = None
    alive_interval: int | None = None
    alive_count: int | None = None
    # ForwardAgent: commands on the host may use the keys of the local ssh-agent.
    forward_agent: bool = False

    @property
    def label(self) -> str:
        return self.hostname if self.port == 22 else f"{self.hostname}:{self.port}"

    @property
    def where(self) -> str:
        return f"{self.user}@{self.hostname}:{self.port}"

    def key(self) -> tuple:
        """Identity of a login, for sharing one connection to a jump host."""
        via = self.via.key() if self.via else None
        return (self.hostname, self.port, self.user, self.proxy_command, via)

    def chain(self) -> list[Endpoint]:
        """The jump hosts in front of this login, outermost first."""
        return [*self.via.chain(), self.via] if self.via else []


def endpoint_of(host) -> Endpoint:
    """The host's login: inventory data and CLI flags, then ssh_config, then the
    defaults."""
    data = host.data
    return resolve(
        host.name,
        config_files(data),
        hostname=data.ssh_hostname or None,
        user=data.ssh_user or None,
        port=int(data.ssh_port) if data.ssh_port else None,
        key=data.ssh_key or None,
        proxy_jump=data.ssh_proxy_jump or None,
        strict=data.ssh_strict_host_key_checking or None,
        known_hosts=data.ssh_known_hosts_file or None,
        forward_agent=None if data.ssh_forward_agent is None else bool(data.ssh_forward_agent),
    )


def config_files(data) -> list[str]:
    """The ssh_config files of a host: `ssh_config_file` (or --ssh-config) instead of
    ~/.ssh/config, then /etc/ssh/ssh_config."""
    files = default_files()
    if data.ssh_config_file:
        files[0] = os.path.expanduser(str(data.ssh_config_file))
        if not os.path.isfile(files[0]):
            raise ConnectError(f"ssh_config file not found: {files[0]}")
    return files


def parse_hop(spec: str) -> tuple[str | None, str, int | None]:
    """`[user@]host[:port]` (or an ssh:// URI) -> (user, host, port)."""
    spec = spec.strip()
    if spec.startswith("ssh://"):
        spec = spec[len("ssh://") :].rstrip("/")
    user, _, rest = spec.rpartition("@")
    host, port = rest, None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port = tail[1:]
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    if not host:
        raise ConnectError(f"bad jump host {spec!r}: expected [user@]host[:port]")
    try:
        return user or None, host, int(port) if port else None
    except ValueError:
        raise ConnectError(f"bad jump host {spec!r}: the port must be a number") from None


def resolve(
    name: str,
    files: list[str],
    hostname: str | None = None,
    user: str | None = None,
    port: int | None = None,
    key: str | None = None,
    proxy_jump: str | None = None,
    strict: str | None = None,
    known_hosts: str | None = None,
    forward_agent: bool | None = None,
    depth: int = 0,
) -> Endpoint:
    """The login for `name`: the given values (inventory data, CLI flags, a hop's
    `user@host:port`) beat ssh_config, which beats the defaults."""
    if depth > MAX_JUMPS:
        raise ConnectError(f"more than {MAX_JUMPS} nested jump hosts in front of {name}")
    config = SSHConfigLookup(name, files, user=user)
    original = name
    if hostname is None:
        configured = config.get("hostname")
        hostname = expand_tokens(configured, name, 0, "", name) if configured else name
    user = user or config.get("user") or getpass.getuser()
    try:
        port = int(port or config.get("port") or 22)
    except ValueError:
        raise ConnectError(f"ssh_config: bad Port for {name}: {config.get('port')}") from None

    def tokens(value: str) -> str:
        return expand_tokens(value, hostname, port, user, original)

    endpoint = Endpoint(name=name, hostname=hostname, port=port, user=user)
    if key:
        endpoint.key_files = [os.path.expanduser(str(key))]
        if not os.path.isfile(endpoint.key_files[0]):
            raise ConnectError(f"ssh_key file not found: {endpoint.key_files[0]}")
    else:
        endpoint.key_files = [tokens(path) for path in config.get("identityfile", [])]
        endpoint.identities_only = bool(config.flag("identitiesonly"))

    mode = str(strict or config.get("stricthostkeychecking") or "accept-new").lower()
    if mode not in STRICT_MODES:
        raise ConnectError(f"bad StrictHostKeyChecking for {name}: {mode} (accept-new, yes or no)")
    endpoint.strict = STRICT_MODES[mode]
    if known_hosts:
        endpoint.known_hosts = [os.path.expanduser(str(known_hosts))]
    else:
        configured = config.get("userknownhostsfile") or ["~/.ssh/known_hosts"]
        endpoint.known_hosts = [tokens(path) for path in configured if path.lower() != "none"]
    configured = config.get("globalknownhostsfile") or ["/etc/ssh/ssh_known_hosts"]
    endpoint.global_known_hosts = [tokens(path) for path in configured if path.lower() != "none"]

    for keyword, attribute, kind in (
        ("connecttimeout", "connect_timeout", float),
        ("serveraliveinterval", "alive_interval", int),
        ("serveralivecountmax", "alive_count", int),
    ):
        value = config.get(keyword)
        if value is not None:
            try:
                setattr(endpoint, attribute, kind(value))
            except ValueError:
                raise ConnectError(f"ssh_config: bad {keyword} for {name}: {value}") from None

    endpoint.forward_agent = bool(config.flag("forwardagent")) if forward_agent is None else forward_agent

    # ProxyJump and ProxyCommand: the first one given wins, as in OpenSSH.
    jump = proxy_jump
    if jump is None:
        jump = config.get("proxyjump")
        command = config.get("proxycommand")
        if command is not None and "proxycommand" in _first_of(config, ("proxyjump", "proxycommand")):
            jump = None
            if command.lower() != "none":
                endpoint.proxy_command = tokens(command)
    if jump and jump.lower() != "none":
        previous = None
        for spec in jump.split(","):
            hop_user, hop_host, hop_port = parse_hop(spec)
            hop = resolve(hop_host, files, user=hop_user, port=hop_port, depth=depth + 1)
            if previous is not None:  # a chain: each hop is reached through the one before
                hop.via, hop.proxy_command = previous, None
            previous = hop
        endpoint.via = previous
    return endpoint


def _first_of(config: SSHConfigLookup, keywords: tuple[str, ...]) -> str:
    """Which of the keywords ssh_config gave first (they exclude each other)."""
    order = [k for k in config.options if k in keywords]
    return order[0] if order else ""
