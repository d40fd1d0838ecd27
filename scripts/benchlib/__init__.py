"""Helpers of ``scripts/bench``: the deploy it writes, the delaying proxy, the
one-session floor worker, timing of commands and the result table.

Nothing here is part of pyinfra; ``scripts/bench`` puts this directory's parent on
``sys.path`` (it is the script's own directory) and imports these modules lazily, so
that the floor worker can monkey-patch gevent before anything else is imported.
"""
