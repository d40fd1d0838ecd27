from pyinfra.cli import cli

cli(prog_name="pyinfra")
