# A role: included by deploy.py for the app servers only.
from pyinfra.modules import files

files.template(
    {'Write the app config'},
    'templates/app.conf.jn2',
    '{{ host.data.base_dir }}/etc/app.conf',
    port=8080,
)
