# A deploy in the guide's layout. It only touches /tmp/pyinfra-example.
from pyinfra import host, inventory, local
from pyinfra.modules import files, server

files.directory(
    {'Create the base directories'},
    '{{ host.data.base_dir }}/etc',
    recursive=True,
)

files.put('files/motd', '{{ host.data.base_dir }}/motd', mode='644')

files.line('{{ host.data.base_dir }}/etc/hosts.allow', 'sshd: 127.0.0.1')

files.link('{{ host.data.base_dir }}/current', target='{{ host.data.base_dir }}/etc')

# Facts change what a deploy does, per host.
if host.fact.os == 'Linux':
    files.line('{{ host.data.base_dir }}/etc/facts', 'arch={{ host.fact.arch }}')

# A command that runs only when something above changed.
meta = files.put('files/motd', '{{ host.data.base_dir }}/motd.copy')
if meta.changed:
    server.shell('echo motd updated >> {{ host.data.base_dir }}/changes.log')

local.include('roles/app.py', hosts=inventory.app_servers)
