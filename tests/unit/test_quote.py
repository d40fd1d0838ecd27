"""quote() gives one literal word to a POSIX shell and to fish alike: sshd runs what the
SSH connector sends through the login user's shell, which may be fish."""

import shutil
import subprocess

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support.sshd import ensure_sshd_installed

from pyinfra.api.command import quote


@pytest.fixture(scope="module")
def shells():
    ensure_sshd_installed()  # installs fish when missing
    return ["/bin/sh", shutil.which("fish")]


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(text=TEXT)
@example(text="back\\slash \\\\ \\' it's \"q\" $HOME `x` $(y)\nline")
@example(text="'")
@example(text="\\")
@example(text="")
def test_quote_is_one_literal_word_for_sh_and_fish(shells, text):
    for shell in shells:
        result = subprocess.run([shell, "-c", f"printf %s {quote(text)}"], capture_output=True)
        assert result.stdout.decode("utf-8", "surrogateescape") == text, (shell, quote(text))
