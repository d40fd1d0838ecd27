"""ssh_config parsing and resolution (no network): OpenSSH's rules, case by case."""

import pytest

from pyinfra.api.connectors.ssh.config import SSHConfigLookup, pattern_list_matches
from pyinfra.api.connectors.ssh.target import parse_hop, resolve
from pyinfra.api.exceptions import ConnectError


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    return tmp_path


def write(home, text, name="config"):
    path = home / ".ssh" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_patterns():
    assert pattern_list_matches(["web-*", "!web-9"], "web-1")
    assert not pattern_list_matches(["web-*", "!web-9"], "web-9")
    assert not pattern_list_matches(["!web-9"], "db")  # a negation alone matches nothing
    assert pattern_list_matches(["db-?"], "DB-1")


def test_first_value_wins_and_identity_files_add_up(home):
    path = write(
        home,
        "Host a\n  Port 1\n  IdentityFile one\nHost *\n  Port 2\n  IdentityFile two\n"
        "  UserKnownHostsFile k1 k2\n",
    )
    config = SSHConfigLookup("a", [path])
    assert config.get("port") == "1"
    assert config.get("identityfile") == ["one", "two"]
    assert config.get("userknownhostsfile") == ["k1", "k2"]


def test_include_in_a_host_block_is_conditional(home):
    write(home, "Port 7\n", name="inc/p.conf")
    path = write(home, "Host other\n  Include inc/*.conf\nHost *\n  Port 9\n")
    assert SSHConfigLookup("a", [path]).get("port") == "9"
    assert SSHConfigLookup("other", [path]).get("port") == "7"


def test_match_host_sees_hostname_and_user_the_forced_user(home):
    path = write(home, "Host a\n  HostName 10.0.0.1\nMatch host 10.0.0.* user deploy\n  Port 5\n")
    assert SSHConfigLookup("a", [path], user="deploy").get("port") == "5"
    assert SSHConfigLookup("a", [path], user="root").get("port") is None
    with pytest.raises(ConnectError, match="Match exec is not supported"):
        SSHConfigLookup("a", [write(home, "Match exec true\n  Port 1\n", name="c2")])


def test_resolve_tokens_data_and_jumps(home):
    path = write(
        home,
        "Host web\n  HostName %h.example\n  User deploy\n  IdentityFile ~/k/%r-%h-%p\n"
        "  ProxyCommand nc %h %p\n  ProxyJump nope\n"
        "Host db\n  ProxyJump j1,root@j2:2200\nHost j1\n  HostName 1.2.3.4\n",
    )
    web = resolve("web", [path])
    assert (web.hostname, web.user, web.port) == ("web.example", "deploy", 22)
    assert web.key_files == [f"{home}/k/deploy-web.example-22"]
    assert web.proxy_command == "nc web.example 22" and web.via is None  # the first wins
    assert resolve("web", [path], user="root", port=2).key_files == [f"{home}/k/root-web.example-2"]
    db = resolve("db", [path])
    assert [(h.hostname, h.user, h.port) for h in db.chain()] == [
        ("1.2.3.4", db.user, 22),
        ("j2", "root", 2200),
    ]
    assert resolve("db", [path], proxy_jump="none").via is None
    assert resolve("web", [path], proxy_jump="x@b").via.hostname == "b"
    assert resolve("web", [path], proxy_jump="x@b").proxy_command is None


def test_parse_hop():
    assert parse_hop("deploy@bastion:2222") == ("deploy", "bastion", 2222)
    assert parse_hop("bastion") == (None, "bastion", None)
    assert parse_hop("ssh://u@[::1]:22") == ("u", "::1", 22)
    with pytest.raises(ConnectError):
        parse_hop("u@b:x")


def test_files_read_once_are_read_again_when_they_change(home):
    """Each file is parsed once for all the hosts of a run, and again once it changes
    (an API process may outlive an edit); an Include's directory likewise."""
    import os

    path = write(home, "Host web\n  Port 2201\nInclude conf.d/*.conf\n")
    assert SSHConfigLookup("web", [path]).get("port") == "2201"
    write(home, "Host web\n  Port 2202\nInclude conf.d/*.conf\n")
    os.utime(path, ns=(1, 1))  # a new stamp even within the clock's resolution
    assert SSHConfigLookup("web", [path]).get("port") == "2202"
    write(home, "Host web\n  User deploy\n", name="conf.d/extra.conf")
    os.utime(home / ".ssh" / "conf.d", ns=(2, 2))
    assert SSHConfigLookup("web", [path]).get("user") == "deploy"
