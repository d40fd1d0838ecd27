"""pyinfra 0.1's Inventory((names, data), ssh_*=, **groups)."""

import pytest

from pyinfra.api import Inventory
from pyinfra.api.exceptions import InventoryError


def make():
    return Inventory(
        (["web1", ("web2", {"port": 8080, "role": "own"})], {"role": "all", "app": "/opt"}),
        bsd=(["bsd1"], {"app": "/opt/bsd"}),
        Centos=(["web1", ("web2", {"extra": True})], {"role": "centos"}),
        ssh_user="vagrant",
        ssh_key="./key",
        ssh_port=None,
    )


def test_hosts_groups_and_data_layers():
    inventory = make()
    assert [h.name for h in inventory] == ["web1", "web2", "bsd1"]
    assert [h.name for h in inventory.centos] == ["web1", "web2"]  # group names lower-cased
    assert [h.name for h in inventory.bsd] == ["bsd1"]
    web1, web2, bsd1 = inventory["web1"], inventory["web2"], inventory["bsd1"]
    assert (web1.data.role, web1.data.app) == ("centos", "/opt")
    assert (web2.data.role, web2.data.port, web2.data.extra) == ("own", 8080, True)
    assert bsd1.data.app == "/opt/bsd"
    # ssh_* arguments override every host's data; None ones are not set
    assert web2.data.ssh_user == "vagrant" and web2.data.source("ssh_user") == "override"
    assert "ssh_port" not in web2.data
    assert inventory.get_data().app == "/opt"


def test_unknown_group_and_bad_entries_are_clear_errors():
    with pytest.raises(AttributeError, match="no group 'db'"):
        make().db
    with pytest.raises(InventoryError, match=r"must be a tuple \(names, data\)"):
        Inventory(["web1"])
    with pytest.raises(InventoryError, match="group db of Inventory"):
        Inventory(([], {}), db=["db1"])
    with pytest.raises(InventoryError, match="42 is not a host"):
        Inventory(([42], {}))
