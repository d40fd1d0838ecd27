"""Facts about git checkouts."""

from __future__ import annotations

from pyinfra.api import FactBase, quote


class GitBranch(FactBase):
    """The branch checked out in a git repository: 'master'; 'HEAD' when detached. None
    when the directory is not a git checkout (or git is missing)."""

    requires_command = "git"

    def command(self, name):
        return f"cd {quote(name)} && git rev-parse --abbrev-ref HEAD"

    def process(self, output):
        return output[0].strip() if output and output[0].strip() else None


class GitPullNeeded(FactBase):
    """Whether a checkout lacks the newest commit of `branch` at `source`: True when
    pulling would bring commits, False when that commit is in the checkout's HEAD
    already, None when the checkout or the source cannot be read. Asks the source
    (``git ls-remote``), like a pull would."""

    requires_command = "git"

    def command(self, name, source, branch):
        return (
            f"cd {quote(name)} && r=$(git ls-remote -- {quote(source)} {quote('refs/heads/' + branch)})"
            ' && r=${r%%[[:space:]]*} && [ -n "$r" ]'
            ' && if git merge-base --is-ancestor "$r" HEAD 2>/dev/null; then echo no; else echo yes; fi'
        )

    def process(self, output):
        answer = output[0].strip() if output else ""
        return {"yes": True, "no": False}.get(answer)
