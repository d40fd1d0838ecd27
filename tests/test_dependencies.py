"""Which operations depend on an earlier change (api/build/dependencies.py), offline."""

from pyinfra.api.build.dependencies import changed_resource, overlaps, read_resource
from pyinfra.api.command import Identity
from pyinfra.api.facts import FactKey


def key(name, *args):
    return FactKey(name, args, Identity())


def depends(earlier_key, earlier_value, later_key):
    return overlaps(changed_resource(earlier_key, earlier_value), read_resource(later_key))


def test_same_path_through_different_facts():
    assert depends(key("sha1_file", "/etc/app.conf"), "ab12", key("find_in_file", "/etc/app.conf", "^x$"))
    assert depends(key("file", "/etc/a/../app.conf"), None, key("file", "/etc/app.conf"))
    assert not depends(key("file", "/etc/app.conf"), None, key("file", "/etc/app.conf.d"))


def test_new_directory_leaves_its_content_alone():
    assert not depends(key("directory", "/opt/app"), None, key("file", "/opt/app/conf"))


def test_existing_directory_reaches_its_content():
    info = {"mode": 755, "user": "root", "group": "root"}
    assert depends(key("directory", "/opt/app"), info, key("file", "/opt/app/conf/x"))
    assert depends(key("directory", "/"), info, key("file", "/etc/x"))
    assert not depends(key("directory", "/opt/app"), info, key("file", "/opt/application"))


def test_listing_a_directory_sees_changes_inside():
    assert depends(key("file", "/srv/www/index.html"), None, key("find_files", "/srv/www"))
    assert not depends(key("file", "/srv/other"), None, key("find_files", "/srv/www"))


def test_subjects_and_plain_facts():
    assert depends(key("deb_packages"), {}, key("which", "nginx"))
    assert depends(key("users"), {}, key("groups"))
    assert not depends(key("users"), {}, key("deb_packages"))
    assert depends(key("command", "cat /x"), "", key("command", "cat /x"))
    assert not depends(key("command", "cat /x"), "", key("command", "cat /y"))
