"""What the tests stand on: a private sshd (sshd.py), test users (users.py), a busybox
root (chroot.py), iptables rules (netrules.py), the real services and packages the
operations manage (services.py, packages.py), and helpers the e2e tests share.

Tests import these as `support.X`: pytest puts tests/ (where conftest.py is) on the
path."""

import os

# The tests directory and the repository's root.
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TESTS)
