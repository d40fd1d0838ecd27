# A real inventory: groups are ALL_CAPS lists of hosts; entries may carry data.
APP_SERVERS = [
    'app-1.net',
    ('app-2.net', {'some_key': True}),
]

DB_SERVERS = [
    'db-1.net',
]
