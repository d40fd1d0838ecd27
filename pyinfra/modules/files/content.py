"""files.put and files.template: a file's content from the controller, uploaded
atomically and skipped when the host has it already; files.get: the other way."""

from __future__ import annotations

import hashlib
import os

from pyinfra.api import FileDownloadCommand, FunctionCommand, OperationError, operation
from pyinfra.api.templating import TemplateHost, template_line
from pyinfra.modules._files import local_path, parse_mode, sha1_of, template_environment, upload_commands


@operation
def put(
    state,
    host,
    local_filename,
    remote_filename,
    user=None,
    group=None,
    mode=None,
    add_deploy_dir=True,
    create_remote_dir=True,
):
    """Upload a local file to the host, atomically; nothing when the content is the same.

    + local_filename: local path (relative paths are in the deploy directory), or a
      file-like object whose content is uploaded
    + remote_filename: path of the file on the host
    + user: user to own the file
    + group: group to own the file
    + mode: permissions as octal digits: 644, '644' or '0644'
    + add_deploy_dir: resolve a relative ``local_filename`` against the deploy directory
    + create_remote_dir: make the file's missing parent directories (as the operation's
      user; ``user``/``group``/``mode`` apply to the file only); False fails instead, as 0.1
    """
    mode = parse_mode(mode)
    if hasattr(local_filename, "read"):
        content = local_filename.read()
        src = content.encode() if isinstance(content, str) else content
        sha1 = hashlib.sha1(src).hexdigest()
    else:
        src = local_path(state, local_filename, add_deploy_dir)
        if not os.path.isfile(src):
            raise OperationError(f"local file not found: {src}")
        sha1 = sha1_of(src)
    yield from upload_commands(host, src, sha1, remote_filename, user, group, mode, create_remote_dir)


@operation
def template(
    state,
    host,
    template_filename,
    remote_filename,
    user=None,
    group=None,
    mode=None,
    create_remote_dir=True,
    **data,
):
    """Render a jinja2 template for this host and upload the result like files.put.

    + template_filename: local template (relative paths are in the deploy directory,
      conventionally ``templates/*.jn2``)
    + remote_filename: path of the file on the host
    + user: user to own the file
    + group: group to own the file
    + mode: permissions as octal digits: 644, '644' or '0644'
    + create_remote_dir: make the file's missing parent directories, as ``files.put``
    + data: further keyword arguments, available in the template by name

    The template also sees ``host``, ``inventory`` and ``data`` (the host's data). An
    undefined name is an error, not an empty string.
    """
    mode = parse_mode(mode)
    path = local_path(state, template_filename)
    if not os.path.isfile(path):
        raise OperationError(f"template not found: {path}")

    search_path = [os.path.dirname(os.path.abspath(path))]
    if state.deploy_dir:
        search_path.append(state.deploy_dir)
    import jinja2  # loaded on first use: a run starts connecting before that

    environment = template_environment(tuple(search_path))
    seen = TemplateHost(host)
    context = {"host": seen, "inventory": state.inventory, "data": seen.data, **data}
    try:
        compiled = environment.get_template(os.path.basename(path))
        text = compiled.render(context)
    except jinja2.TemplateSyntaxError as error:
        raise OperationError(f"template {path}, line {error.lineno}: {error.message}") from None
    except jinja2.TemplateError as error:
        line = template_line(error, compiled.filename)
        where = f"{path}, line {line}" if line else path
        raise OperationError(f"template {where}: {error}") from None
    content = text.encode()
    sha1 = hashlib.sha1(content).hexdigest()
    yield from upload_commands(host, content, sha1, remote_filename, user, group, mode, create_remote_dir)


@operation
def get(state, host, src, dest, add_deploy_dir=True, create_local_dir=False, force=False):
    """Copy a file from the host to this machine (the one running pyinfra); nothing
    when the local copy has the same content.

    + src: path of the file on the host (read as the operation's user: with
      ``sudo=True``, a file only root may read)
    + dest: local path to write (relative paths are in the deploy directory)
    + add_deploy_dir: resolve a relative ``dest`` against the deploy directory
    + create_local_dir: make ``dest``'s missing local directories; else they must exist
    + force: copy it even when the local file's SHA1 is the host file's

    The copy is written to a new file beside ``dest`` and moved over it once it is whole
    and its size and SHA1 are the host file's. ``dest`` keeps its mode; a new one gets
    the mode the umask gives. The file travels as text (hex) through the connection, so
    this is for configuration files and reports, not for large files.
    """
    local = local_path(state, dest, add_deploy_dir)
    if os.path.isdir(local):
        raise OperationError(f"local path {local} is a directory")
    remote_sha1 = host.fact.sha1_file(src)  # with the file fact: one round trip
    info = host.fact.file(src)
    if info is False:
        raise OperationError(f"{src} exists and is not a file")
    parent = os.path.dirname(local) or "."
    if not os.path.isdir(parent):
        if not create_local_dir:
            raise OperationError(f"local directory {parent} does not exist (create_local_dir=True makes it)")
        yield FunctionCommand(make_local_directory, (parent,))
    # A file the facts did not find may be made by the time this runs: copied then, or
    # the host's error.
    if info and not force and os.path.isfile(local) and sha1_of(local) == remote_sha1:
        return
    yield FileDownloadCommand(src, local)


def make_local_directory(state, host, path):
    os.makedirs(path, exist_ok=True)
