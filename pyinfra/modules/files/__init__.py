"""Files, directories, links, lines in files, uploads and templates.

Uploads land in a temporary file beside their target and are moved over it, so a
reader never sees half a file; an upload whose content is already there is skipped.
"""

from __future__ import annotations

from pyinfra.modules import unknown_operation

# isort: off
# The documented order: scripts/gendocs lists the operations as they are imported here.
from pyinfra.modules.files.paths import file, directory, link
from pyinfra.modules.files.lines import line, block
from pyinfra.modules.files.content import put, template, get
from pyinfra.modules.files.transfer import download
from pyinfra.modules.files.lines import replace
from pyinfra.modules.files.transfer import sync

# isort: on

__all__ = ["file", "directory", "link", "line", "block", "put", "template", "get"]
__all__ += ["download", "replace", "sync"]

__getattr__ = unknown_operation(__name__)
