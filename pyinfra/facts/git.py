"""Facts about git checkouts."""

from __future__ import annotations

from pyinfra.api import FactBase, quote
from pyinfra.api.facts import ABSENT
from pyinfra.facts.files import if_exists


class GitBranch(FactBase):
    """The branch checked out in a git repository: 'master'; 'HEAD' when detached. None
    when the directory is not a git checkout (it has no .git) or git is missing."""

    requires_command = "git"

    def command(self, name):
        # symbolic-ref exits 1, quietly, for a detached HEAD; a new repository without
        # commits still has its branch.
        # A subshell: facts read together share one shell, which must not move.
        branch = (
            f"(cd {quote(name)} &&"
            " { git symbolic-ref --short -q HEAD || { [ $? -eq 1 ] && echo HEAD; }; })"
        )
        return if_exists(f"{name}/.git", branch)

    def process(self, output):
        branch = output[0].strip()
        if not branch:
            raise ValueError("no branch name")
        return branch


class GitPullNeeded(FactBase):
    """Whether a checkout lacks the newest commit of `branch` at `source`: True when
    pulling would bring commits, False when that commit is in the checkout's HEAD
    already, None when the source has no such branch (the pull says why). Asks the
    source (``git ls-remote``), like a pull would: a source that cannot be reached is
    an error."""

    requires_command = "git"

    def command(self, name, source, branch):
        return (
            f"(cd {quote(name)} && r=$(git ls-remote -- {quote(source)} {quote('refs/heads/' + branch)})"
            f' && r=${{r%%[[:space:]]*}} && if [ -z "$r" ]; then echo {ABSENT};'
            ' elif git merge-base --is-ancestor "$r" HEAD 2>/dev/null; then echo no; else echo yes; fi)'
        )

    def process(self, output):
        return {"yes": True, "no": False}[output[0].strip()]
