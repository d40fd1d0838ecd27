# Options and hooks for every run from this directory (also --run and --fact).
from pyinfra import hook

TIMEOUT = 5
FAIL_PERCENT = 0


@hook.before_connect
def say_where(data, state):
    print('Deploying {0} host(s), env={1}'.format(len(state.inventory), data.env))
