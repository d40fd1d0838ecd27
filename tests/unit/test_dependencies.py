"""Which operations depend on an earlier change (api/build/dependencies.py), offline."""

from pyinfra.api.build.dependencies import changed_resource, overlaps, read_resource
from pyinfra.api.command import Identity
from pyinfra.api.facts import FactKey


def key(name, *args):
    return FactKey(name, args, Identity())


def depends(earlier_key, earlier_value, later_key, later_value=None):
    read = read_resource(later_key)
    return overlaps(changed_resource(earlier_key, earlier_value), read, later_value is None)


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


def test_a_new_path_may_have_made_the_directories_above_it():
    """mkdir -p /opt/app/conf makes /opt/app too when it was missing: an operation on
    /opt/app after it must see it."""
    assert depends(key("directory", "/opt/app/conf"), None, key("directory", "/opt/app"))
    assert depends(key("file", "/opt/app/conf/x"), None, key("file", "/opt/app"))
    # An existing path made nothing above it; nor can a new one make what exists.
    assert not depends(key("directory", "/opt/app/conf"), {"mode": 755}, key("directory", "/opt/app"))
    assert not depends(key("directory", "/opt/app/conf"), None, key("directory", "/opt/app"), {"mode": 755})


def test_what_is_done_through_a_link_is_done_to_its_target():
    from pyinfra.api.build.dependencies import link_target, through_links

    links = {"/srv/current": link_target("/srv/current", "releases/2"), "/etc/app.conf": "/srv/app.conf"}
    found = through_links(("path", "/etc/app.conf"), links)
    assert found == [("path", "/etc/app.conf"), ("path", "/srv/app.conf")]
    assert ("tree", "/srv/releases/2/bin") in through_links(("tree", "/srv/current/bin"), links)
    assert through_links(("path", "/etc/other"), links) == [("path", "/etc/other")]
    assert through_links(("subject", "users"), links) == [("subject", "users")]
