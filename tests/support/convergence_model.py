"""What a sequence of operations should leave on a host, computed in Python: the model
behind tests/e2e/test_e2e_convergence.py.

An operation is a tuple (its name first, then its arguments; paths are relative to the
example's root). `Model.run(ops)` plays them in order the way the host's own commands
would (links followed where the commands follow them, line edits refusing to write
through a link, `mkdir -p` refusing a dangling link...) and returns, for each
operation, whether it changes something, or where the first one that must fail is. `read_host(root)` reads the
same shape back from the real filesystem and /etc/passwd, /etc/group, so the two compare
with `==`.

Nothing here runs pyinfra; the model is what a user expects from the deploy as written.
"""

from __future__ import annotations

import copy
import grp
import os
import posixpath
import pwd
import re
import stat

USER = "pyinfra-u-a"
GROUPS = ("pyinfra-g-a", "pyinfra-g-b")
# (name in files/, content): files.put's sources; files.template renders TEMPLATE.
PUT_FILES = {"one.txt": ["a=1"], "two.txt": ["b=2", "c=3"]}
TEMPLATE = "a={{ value }}\nb=2\n"
# files.line's lines: (as written in the deploy, the text it adds, a matcher).
LINES = {
    "a=1": ("a=1", lambda text: "a=1" in text),
    "^a=1$": ("a=1", lambda text: text == "a=1"),
    "b=2": ("b=2", lambda text: "b=2" in text),
}
# files.replace's (match, replacement), each a BRE meaning the same in Python.
REPLACES = (("a=1", "a=5"), ("^b=2$", "b=7"))
NEW_FILE_MODE = 0o644  # under the umask 022 of root and of sudo
NEW_DIR_MODE = 0o755


class Fails(Exception):
    """The operation must fail on the host (a clear error, not a crash)."""


def node(kind, **fields):
    return {"kind": kind, "mode": None, "owner": None, "group": None, **fields}


class Model:
    """The host as the deploy should leave it: `fs` maps a path (relative to the root,
    no link in it) to a node; `users` maps the test user to its home and groups;
    `groups` is the set of test groups that exist."""

    def __init__(self):
        self.fs: dict[str, dict] = {}
        self.users: dict[str, dict] = {}
        self.groups: set[str] = set()

    def state(self):
        return {"fs": copy.deepcopy(self.fs), "users": copy.deepcopy(self.users), "groups": set(self.groups)}

    def run(self, ops):
        """Play `ops`: (a list of changed flags, True / False / None for 'either'; the
        index of the operation that must fail, or None)."""
        changed = []
        for index, op in enumerate(ops):
            if op[0] == "fact":  # a fact read by the deploy file: no operation
                continue
            try:
                changed.append(getattr(self, "op_" + op[0])(*op[1:]))
            except Fails:
                return changed, index
        return changed, None

    # --- paths -------------------------------------------------------------------

    def resolve(self, path, follow=True, depth=0):
        """The link-free path `path` names (following links in its directories, and
        at its end when `follow`); None when that cannot be walked (a missing or
        non-directory parent, a loop)."""
        if depth > 8:
            return None
        if path == "":
            return ""
        parent, base = posixpath.split(path)
        parent = self.resolve(parent, True, depth + 1) if parent else ""
        if parent is None or (parent and self.fs.get(parent, {}).get("kind") != "dir"):
            return None
        real = posixpath.join(parent, base) if parent else base
        found = self.fs.get(real)
        if follow and found and found["kind"] == "link":
            return self.resolve(found["target"], True, depth + 1)
        return real

    def lookup(self, path, follow=False):
        real = self.resolve(path, follow)
        return real, (self.fs.get(real) if real is not None else None)

    def mkdir_p(self, path):
        """`mkdir -p`: every missing directory made (through links to directories)."""
        current = ""
        for part in path.split("/"):
            current = posixpath.join(current, part) if current else part
            real, found = self.lookup(current, follow=True)
            if real is None:
                raise Fails
            if found is None:
                if self.lookup(current)[1] is not None:  # a dangling link
                    raise Fails
                self.fs[real] = node("dir", mode=NEW_DIR_MODE, owner="root", group="root")
            elif found["kind"] != "dir":
                raise Fails
            current = real

    def remove(self, real):
        for path in [p for p in self.fs if p == real or p.startswith(real + "/")]:
            del self.fs[path]

    def writable_target(self, path):
        """Where `>> path` writes: an existing regular file, or a new one."""
        real, found = self.lookup(path, follow=True)
        if real is None or (found is not None and found["kind"] != "file"):
            raise Fails
        if found is None:
            found = self.fs[real] = node("file", lines=[], mode=NEW_FILE_MODE, owner="root", group="root")
        return found

    def regular_lines(self, path):
        """The lines of the regular file `path` names (through links), None otherwise."""
        found = self.lookup(path, follow=True)[1]
        return found["lines"] if found and found["kind"] == "file" else None

    def attributes(self, found, mode=None, group=None, owner=None):
        changed = False
        if group is not None and group not in self.groups and group != USER:
            raise Fails
        if owner is not None and owner not in self.users:
            raise Fails
        unknown = False
        for key, wanted in (("owner", owner), ("group", group)):
            if wanted is not None and found[key] != wanted:
                unknown = unknown or found[key] is None
                changed, found[key] = True, wanted
        if mode is not None and found["mode"] != int(mode, 8):
            unknown = unknown or found["mode"] is None
            changed, found["mode"] = True, int(mode, 8)
        return None if unknown else changed

    # --- operations -------------------------------------------------------------

    def op_file(self, path, present, mode, group):
        real, found = self.lookup(path)
        if found is not None and found["kind"] != "file":
            raise Fails
        if not present:
            if found:
                self.remove(real)
            return found is not None
        if found is None:
            if real is None:
                raise Fails
            found = self.fs[real] = node("file", lines=[], mode=NEW_FILE_MODE, owner="root", group="root")
            self.attributes(found, mode, group)
            return True
        return self.attributes(found, mode, group)

    def op_directory(self, path, present, mode, group, owner=None):
        real, found = self.lookup(path)
        if found is not None and found["kind"] != "dir":
            raise Fails
        if not present:
            if found:
                self.remove(real)
            return found is not None
        if found is None:
            self.mkdir_p(path)
            found = self.lookup(path)[1]
            self.attributes(found, mode, group, owner)
            return True
        return self.attributes(found, mode, group, owner)

    def op_link(self, path, target, present):
        real, found = self.lookup(path)
        if found is not None and found["kind"] != "link":
            raise Fails
        if not present:
            if found:
                self.remove(real)
            return found is not None
        if real is None:
            raise Fails
        if found is None or found["target"] != target:
            self.fs[real] = node("link", target=target)
            return True
        return False

    def upload(self, path, lines, mode):
        real, found = self.lookup(path)
        current = self.regular_lines(path)
        if current == lines:
            if found["kind"] == "link":  # the content is there, through the link
                target = self.lookup(path, follow=True)[1]
                if mode is not None and target["mode"] != int(mode, 8):
                    raise Fails  # asked for a mode it cannot give the link's target
                return False
            return self.attributes(found, mode)
        if found is not None and found["kind"] != "file":
            raise Fails
        if found is None:
            parent = posixpath.dirname(path)
            if parent:
                self.mkdir_p(parent)
            real = self.resolve(path, follow=False)
            found = self.fs[real] = node("file", lines=[], mode=NEW_FILE_MODE, owner="root", group="root")
        found["lines"] = list(lines)
        self.attributes(found, mode)
        return True

    def op_put(self, path, source, mode):
        return self.upload(path, PUT_FILES[source], mode)

    def op_template(self, path, value, mode):
        return self.upload(path, TEMPLATE.replace("{{ value }}", str(value)).splitlines(), mode)

    def refuse_link(self, path):
        """An edit that would change a file named through a symbolic link fails: the
        edit never writes through a link (a user may have planted it)."""
        found = self.lookup(path)[1]
        if found is not None and found["kind"] == "link":
            raise Fails

    def op_line(self, path, line, present, replace):
        text, matches = LINES[line]
        lines = self.regular_lines(path)
        matching = [each for each in lines or [] if matches(each)]
        if not present:
            if matching:
                self.refuse_link(path)
                lines[:] = [each for each in lines if not matches(each)]
            return bool(matching)
        if replace is None:
            if not matching:
                self.refuse_link(path)
                self.writable_target(path)["lines"].append(text)
            return not matching
        if matching:
            if all(each == replace for each in matching):
                return False
            self.refuse_link(path)
            lines[:] = [replace if matches(each) else each for each in lines]
            return True
        if lines is not None and replace in lines:
            return False
        self.refuse_link(path)
        self.writable_target(path)["lines"].append(replace)
        return True

    def op_replace(self, path, which):
        match, replacement = REPLACES[which]
        lines = self.regular_lines(path)
        if lines is None:
            raise Fails  # sed -i on nothing it can edit
        if not any(re.search(match, each) for each in lines):
            return False
        new = [re.sub(match, replacement, each, count=1) for each in lines]
        self.refuse_link(path)
        lines[:] = new
        return True

    def op_shell(self, action, path, text=None):
        if action == "append":
            self.writable_target(path)["lines"].append(text)
        else:  # rm -rf
            real, found = self.lookup(path)
            if real is None and path.count("/"):
                pass  # rm -rf of a path under a non-directory: nothing there
            elif found is not None:
                self.remove(real)
        return True

    def op_packages(self):
        return False  # openssh-server: the test sshd needs it, so it is installed

    def op_group(self, name, present):
        if present:
            if name in self.groups:
                return False
            self.groups.add(name)
            return True
        if name not in self.groups:
            return False
        self.groups.discard(name)
        for user in self.users.values():
            user["groups"].discard(name)
        for found in self.fs.values():  # its files now belong to a number
            if found["group"] == name:
                found["group"] = None
        return True

    def op_user(self, present, home, groups):
        existing = self.users.get(USER)
        if not present:
            if existing is None:
                return False
            del self.users[USER]
            for found in self.fs.values():  # its files now belong to a number
                if found["owner"] == USER:
                    found["owner"] = None
                if found["group"] == USER:
                    found["group"] = None
            return True
        if groups is not None and not set(groups) <= self.groups:
            raise Fails
        changed = False
        if existing is None:
            existing = self.users[USER] = {"home": home, "groups": set(groups or ())}
            changed = True
        else:
            if existing["home"] != home:
                existing["home"], changed = home, True
            if groups and existing["groups"] != set(groups):
                existing["groups"], changed = set(groups), True
        home_changed = self.op_directory(home, True, None, USER, owner=USER)
        return None if home_changed is None else changed or home_changed


def read_host(root):
    """The state under `root` (and of the test user and groups) in the model's form."""
    fs = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(directory, name)
            info = os.lstat(full)
            fields = {
                "mode": stat.S_IMODE(info.st_mode),
                "owner": owner_name(pwd.getpwuid, info.st_uid),
                "group": owner_name(grp.getgrgid, info.st_gid),
            }
            if stat.S_ISLNK(info.st_mode):
                target = os.readlink(full)
                if target.startswith(root + "/"):
                    target = os.path.relpath(target, root)
                found = {"kind": "link", "target": target, "mode": None, "owner": None, "group": None}
            elif stat.S_ISDIR(info.st_mode):
                found = {"kind": "dir", **fields}
            else:
                with open(full, encoding="utf-8", errors="surrogateescape") as handle:
                    content = handle.read()
                found = {"kind": "file", "lines": content, **fields}
            fs[os.path.relpath(full, root)] = found
    users = {}
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        pass
    else:
        member_of = {
            name for name in GROUPS if group_members(name) is not None and USER in group_members(name)
        }
        users[USER] = {"home": os.path.relpath(entry.pw_dir, root), "groups": member_of}
    return {"fs": fs, "users": users, "groups": {name for name in GROUPS if group_members(name) is not None}}


def owner_name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return None


def group_members(name):
    try:
        return grp.getgrnam(name).gr_mem
    except KeyError:
        return None


def comparable(model_state, host_state):
    """The model's state and the host's, with what the model leaves open (a mode, owner
    or group it does not know: None) taken from the host, and file lines as content."""
    expected = copy.deepcopy(model_state)
    for path, found in expected["fs"].items():
        seen = host_state["fs"].get(path, {})
        if found["kind"] == "file":
            found["lines"] = "".join(line + "\n" for line in found["lines"])
        for key in ("mode", "owner", "group"):
            if found[key] is None:
                found[key] = seen.get(key)
    return expected, host_state
