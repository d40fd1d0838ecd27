# Data for every host. Everything here stays under /tmp, so trying it is harmless.
base_dir = '/tmp/pyinfra-example'
app_name = 'app'
env = 'dev'
