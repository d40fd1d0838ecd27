"""dnf.key, dnf.repo and dnf.packages end to end: the real `pyinfra` command, logged in
as a non-root sudoer with sudo=True, drives Debian's real dnf and rpm on this machine.

The package comes from a local repository the test makes: an .rpm built with
rpmbuild, signed with a key made with gpg, indexed with createrepo_c. dnf checks the
signature (gpgcheck), so the package installs only once dnf.key made rpm trust the
key. Debian's rpm keeps its database in root's home (~/.rpmdb), apart from dpkg's:
nothing but this test uses it, and the test removes what it added.
"""

import os
import shutil
import stat
import subprocess
import textwrap
import uuid

import pytest
from support import users
from support.packages import DNF_PARTS, ensure_packages
from test_e2e_modules import applied, unchanged

ROOT_ENV = {"HOME": "/root", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
REPO_DIR = "/etc/yum.repos.d"


def run(*command, env=None, **kwargs):
    return subprocess.run(
        command, capture_output=True, text=True, env=env or dict(os.environ, **ROOT_ENV), **kwargs
    )


def installed(name):
    """The installed 'version-release' of `name`, as root's rpm sees it, or None."""
    result = run("rpm", "-q", "--queryformat", "%{VERSION}-%{RELEASE}", name)
    return result.stdout if result.returncode == 0 else None


def trusted_keys():
    return run("rpm", "-qa", "--queryformat", "%{VERSION}-%{RELEASE}\n", "gpg-pubkey").stdout.split()


class Repo:
    """A signed local repository of one package, `pyinfra-t-<tag>`, in `path`."""

    def __init__(self, path, tag):
        self.path, self.tag = path, tag
        self.name = self.package = f"pyinfra-t-{tag}"
        self.payload = f"/opt/{self.package}/hello.txt"
        self.gnupg = path / "gnupg"
        self.gnupg.mkdir(mode=0o700)
        self.env = dict(os.environ, GNUPGHOME=str(self.gnupg))
        uid = f"pyinfra test {tag} <t-{tag}@example.invalid>"
        self.uid = uid
        self.check(
            run(
                "gpg",
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                uid,
                "ed25519",
                "sign",
                "never",
                env=self.env,
            )
        )
        self.key = path / "key.asc"
        self.key.write_text(self.check(run("gpg", "--armor", "--export", uid, env=self.env)).stdout)
        colons = self.check(run("gpg", "--list-keys", "--with-colons", uid, env=self.env)).stdout
        # rpm names a key gpg-pubkey-<last 8 hex digits of its ID>-<creation time>.
        self.key_version = next(line.split(":")[4] for line in colons.splitlines() if line.startswith("pub:"))
        self.key_version = self.key_version[-8:].lower()
        self.repo = path / "repo"
        self.repo.mkdir()

    @staticmethod
    def check(result):
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def add_version(self, version):
        """Build, sign and publish version-1 of the package."""
        spec = self.path / f"{version}.spec"
        spec.write_text(
            textwrap.dedent(f"""\
            Name: {self.package}
            Version: {version}
            Release: 1
            Summary: pyinfra test package
            License: MIT
            BuildArch: noarch
            AutoReqProv: no
            %description
            A package of the pyinfra test suite.
            %install
            mkdir -p %{{buildroot}}/opt/{self.package}
            echo {version} > %{{buildroot}}{self.payload}
            %files
            {self.payload}
            """)
        )
        top = self.path / "top"
        self.check(run("rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)))
        built = top / "RPMS" / "noarch" / f"{self.package}-{version}-1.noarch.rpm"
        self.check(
            run(
                "rpmsign",
                "--addsign",
                "--define",
                f"_gpg_name {self.uid}",
                "--define",
                f"__gpg {shutil.which('gpg')}",
                str(built),
                env=self.env,
            )
        )
        shutil.copy(built, self.repo)
        self.check(run("createrepo_c", "-q", "--update", str(self.repo)))


@pytest.fixture
def signed_repo(public_dir):
    ensure_packages(DNF_PARTS)
    made_repo_dir = not os.path.isdir(REPO_DIR)
    keys_before = set(trusted_keys())
    repo = Repo(public_dir, uuid.uuid4().hex[:8])
    repo.add_version("1.0")
    try:
        yield repo
    finally:
        run("rpm", "-e", "--allmatches", repo.package)
        for key in set(trusted_keys()) - keys_before:
            run("rpm", "-e", f"gpg-pubkey-{key}")
        for path in (f"{REPO_DIR}/{repo.name}.repo", f"/opt/{repo.package}"):
            subprocess.run(["rm", "-rf", path])
        for entry in os.listdir("/var/cache/dnf") if os.path.isdir("/var/cache/dnf") else []:
            if entry.startswith(repo.name):
                subprocess.run(["rm", "-rf", os.path.join("/var/cache/dnf", entry)])
        if made_repo_dir and os.path.isdir(REPO_DIR) and not os.listdir(REPO_DIR):
            os.rmdir(REPO_DIR)


DEPLOY = """
from pyinfra.modules import dnf
present = {present!r}
if present:
    dnf.key({key!r}, sudo=True)
dnf.repo({name!r}, {url!r}, description='pyinfra test', present=present, sudo=True)
dnf.packages([{package!r}], latest=True, present=present, sudo=True)
"""


def test_key_repo_and_package_from_a_signed_local_repository(pyinfra_as, deploy_dir, signed_repo):
    repo = signed_repo
    values = dict(key=str(repo.key), name=repo.name, url=f"file://{repo.repo}", package=repo.package)
    root = deploy_dir(
        {
            "present.py": DEPLOY.format(present=True, **values),
            "absent.py": DEPLOY.format(present=False, **values),
        }
    )
    deploy = pyinfra_as(users.SUDO)
    assert installed(repo.package) is None

    first = applied(deploy("127.0.0.2", "present.py", cwd=root))
    assert "3 operations, 3 changed" in first.output, first.output
    assert installed(repo.package) == "1.0-1"
    with open(repo.payload) as handle:
        assert handle.read() == "1.0\n"
    repo_file = f"{REPO_DIR}/{repo.name}.repo"
    with open(repo_file) as handle:
        assert handle.read() == (
            f"[{repo.name}]\nname=pyinfra test\nbaseurl=file://{repo.repo}\nenabled=1\ngpgcheck=1\n"
        )
    info = os.stat(repo_file)
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o644)
    assert repo.key_version in [key.split("-")[0] for key in trusted_keys()]
    unchanged(deploy("127.0.0.2", "present.py", cwd=root))

    # A newer version is published and dnf's metadata cache expires (time passing):
    # latest=True upgrades to it, then nothing is left to do.
    repo.add_version("1.1")
    repo.check(run("dnf", "clean", "expire-cache"))
    upgraded = applied(deploy("127.0.0.2", "present.py", cwd=root))
    assert "3 operations, 1 changed" in upgraded.output, upgraded.output
    assert installed(repo.package) == "1.1-1"
    unchanged(deploy("127.0.0.2", "present.py", cwd=root))

    gone = applied(deploy("127.0.0.2", "absent.py", cwd=root))
    assert "2 operations, 2 changed" in gone.output, gone.output
    assert installed(repo.package) is None and not os.path.exists(repo.payload)
    assert not os.path.exists(repo_file)
    unchanged(deploy("127.0.0.2", "absent.py", cwd=root))


def test_a_file_that_is_not_a_key_fails_the_host(pyinfra_as, deploy_dir, public_dir):
    """rpm_key_file fails closed: a file rpm cannot import is an error before anything
    runs, never a key taken as trusted (or imported on every deploy)."""
    ensure_packages(DNF_PARTS)
    bogus = public_dir / "not-a-key.asc"
    bogus.write_text("hello\n")
    root = deploy_dir({"deploy.py": f"from pyinfra.modules import dnf\ndnf.key({str(bogus)!r}, sudo=True)\n"})
    keys_before = trusted_keys()
    result = pyinfra_as(users.SUDO)("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode != 0, result.output
    assert "import read failed" in result.output, result.output
    assert "Traceback" not in result.output
    assert trusted_keys() == keys_before
