"""Running the user's Python files (inventory, group data, config, deploy, roles) so
that any error in them points at their file and line, not at ours."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from pyinfra.api.exceptions import DeployFileError, PyinfraError

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compile_file(path: str, source: str | None = None):
    if source is None:
        try:
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
        except FileNotFoundError:
            raise DeployFileError("file not found", path) from None
        except (OSError, UnicodeDecodeError) as error:
            raise DeployFileError(f"cannot read file: {error}", path) from None
    try:
        return compile(source, path, "exec")
    except SyntaxError as error:
        detail = error.msg
        if error.text:
            detail += f": {error.text.strip()}"
        raise DeployFileError(f"syntax error: {detail}", error.filename or path, error.lineno) from None


def v3_import(error: BaseException) -> bool:
    """True for an import of pyinfra 3's `pyinfra.operations` (here: pyinfra.modules)."""
    name = getattr(error, "name", None) or ""
    return isinstance(error, ImportError) and (
        name == "pyinfra.operations" or name.startswith("pyinfra.operations.")
    )


def user_error(error: BaseException, path: str) -> DeployFileError:
    """A DeployFileError naming the innermost frame of the user's own code."""
    frames = traceback.extract_tb(error.__traceback__)
    user = [f for f in frames if not os.path.abspath(f.filename).startswith(PACKAGE_DIR + os.sep)]
    filename, line = (user[-1].filename, user[-1].lineno) if user else (path, None)
    if isinstance(error, PyinfraError):
        return DeployFileError(str(error), filename, line)
    if v3_import(error):
        # pyinfra 3's habit: one line saying what to import instead. An error in the
        # user's file like any other (exit code 1): usage errors are the command line's.
        source = (user[-1].line or "").strip() if user else ""
        instead = source.replace("pyinfra.operations", "pyinfra.modules")
        return DeployFileError(
            "`pyinfra.operations` is pyinfra 3's: operations live in `pyinfra.modules`"
            + (f" (write: {instead})" if "pyinfra.modules" in instead else ""),
            filename,
            line,
        )
    wrapped = DeployFileError(f"{type(error).__name__}: {error}", filename, line)
    wrapped.__cause__ = error
    return wrapped


def exec_code(code, path: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run compiled user code in `namespace`; user errors become DeployFileError."""
    namespace.setdefault("__file__", path)
    namespace.setdefault("__name__", "pyinfra_user_" + os.path.splitext(os.path.basename(path))[0])
    directory = os.path.dirname(os.path.abspath(path))
    added = directory not in sys.path
    if added:
        # Let a deploy import its own helper modules that sit beside it.
        sys.path.insert(0, directory)
    try:
        exec(code, namespace)
    except PyinfraError as error:
        if error.located:
            raise
        where = user_error(error, path)
        if where.line is not None:
            error.args = (f"{where.filename}, line {where.line}: {error}",)
            error.located = True
        raise
    except SystemExit as error:
        raise DeployFileError(f"the file called exit({error.code})", path) from None
    except Exception as error:
        wrapped = user_error(error, path)
        # Keep the user's exception as the cause: --debug shows its traceback, which
        # reaches the line of the user's file that raised.
        raise wrapped from wrapped.__cause__
    finally:
        if added:
            sys.path.remove(directory)
    return namespace


def exec_file(path: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    return exec_code(compile_file(path), path, namespace if namespace is not None else {})


def user_namespace(path: str) -> dict[str, Any]:
    """A fresh namespace for a user file. Besides the file's own imports it has `local`
    and `HookError`, which the guide's hook example uses without importing them."""
    from pyinfra import local
    from pyinfra.api.exceptions import HookError

    return {"__file__": path, "local": local, "HookError": HookError}
