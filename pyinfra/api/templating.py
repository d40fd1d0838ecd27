"""jinja2 for deploys: string arguments rendered per host (compiled once), and what
jinja2 sees of a host: its data, where a key no layer defines is undefined.

Python code reading `host.data.missing` gets None (as 0.1 did); a template or a jinja2
argument rendering it is an error naming the key and the closest keys that exist,
while `is defined` and `|default(...)` work as jinja2 users expect.
"""

from __future__ import annotations

import difflib
import functools
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2


def missing_key_hint(key: str, data) -> str:
    close = difflib.get_close_matches(key, sorted(data.dict()), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"host.data has no key {key!r}{hint}"


class TemplateData:
    """`host.data` for jinja2."""

    def __init__(self, data):
        self._data = data

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        if self._data.source(key) is None:
            import jinja2  # loaded by whoever renders this

            return jinja2.StrictUndefined(hint=missing_key_hint(key, self._data), name=key)
        return self._data.get(key)

    __getitem__ = __getattr__

    def __iter__(self):
        return iter(self._data.dict())

    def __repr__(self) -> str:
        return repr(self._data)


class TemplateHost:
    """A host as jinja2 sees it: everything of the host, its data as TemplateData."""

    def __init__(self, host):
        self._host = host
        self.data = TemplateData(host.data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)

    def __str__(self) -> str:
        return str(self._host)

    def __repr__(self) -> str:
        return repr(self._host)


def template_line(error: BaseException, filename: str | None = None) -> int | None:
    """The template line an error raised while rendering happened on (jinja2 rewrites
    tracebacks so that template frames carry template lines)."""
    line = getattr(error, "lineno", None)
    traceback: types.TracebackType | None = error.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if (filename and code.co_filename == filename) or code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


@functools.lru_cache(maxsize=1)
def jinja_environment() -> jinja2.Environment:
    # jinja2 is loaded on first use (20 ms): a run starts connecting before that.
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


@functools.lru_cache(maxsize=4096)
def compiled(source: str) -> jinja2.Template:
    """A string argument compiled once, rendered for every host."""
    return jinja_environment().from_string(source)


def is_template_error(error: BaseException) -> bool:
    jinja2 = sys.modules.get("jinja2")
    return jinja2 is not None and isinstance(error, jinja2.TemplateError)


def render(value: Any, variables: dict) -> Any:
    """Render jinja2 in strings, inside lists, tuples and dicts too."""
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            return compiled(value).render(variables)
        return value
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    if isinstance(value, tuple):
        return tuple(render(v, variables) for v in value)
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    return value
