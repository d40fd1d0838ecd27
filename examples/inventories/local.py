# The local machine, through a subprocess: no SSH, no server needed.
# `pyinfra @local deploy.py` does the same; this file shows groups and host data.
APP_SERVERS = [
    ('@local', {'app_name': 'hello'}),
]
