"""Secret data never reaches the screen: values under names with password, passwd,
secret, token or private_key, and values wrapped in `secret()`, are `***` in every
output mode, in every form they take on the way (quoted for the shell, in templates,
in error messages), while the deploy itself uses the real values."""

import json

import pytest

from pyinfra.api.command import quote

DB_PASSWORD = "Db-Pass-7731"
# Quoting for the shell changes this one: 'tok'"'"'en$1 x'
API_TOKEN = "tok'en$1 x-5017"
DEPLOY_SECRET = "Deploy-Sec-4410"
NESTED = "Nested-Sec-5520"
WRAPPED = "Wrapped-Sec-9902"
ADMIN_PASSWD = "Admin-Pw-3391"
INLINE = "Inline-Sec-6604"
SECRETS = (DB_PASSWORD, API_TOKEN, DEPLOY_SECRET, NESTED, WRAPPED, ADMIN_PASSWD, INLINE)


def shown_forms(value: str) -> set:
    """The forms a value takes in commands: as is, quoted once and quoted twice (a
    quoted command inside sh -c), and as Python and JSON write it."""
    once = quote(value)
    return {value, once, quote(once), repr(value), json.dumps(value), once.strip("'")}


def secrets_deploy(tmp_path) -> dict:
    out = tmp_path / "out"
    return {
        "inventories/production.py": "WEB = ['127.0.0.2', '127.0.0.3']\n",
        "group_data/web.py": f"""
            from pyinfra import secret

            db_password = {DB_PASSWORD!r}
            api_token = {API_TOKEN!r}
            deploy_secret = {{'key': {DEPLOY_SECRET!r}, 'more': [{NESTED!r}]}}
            release_name = secret({WRAPPED!r})
            settings = {{'admin_passwd': {ADMIN_PASSWD!r}, 'colour': 'blue'}}
        """,
        "templates/app.conf.j2": "password={{ host.data.db_password }}\ntoken={{ host.data.api_token }}\n",
        "deploy.py": f"""
            from pyinfra import host, secret
            from pyinfra.api import quote
            from pyinfra.modules import files, python, server

            inline = secret({INLINE!r})
            base = '{out}-' + host.name
            files.directory(base)
            files.template('templates/app.conf.j2', base + '/app.conf')
            # jinja2, f-strings, str methods and shell quoting all see the real value
            server.shell('echo {{{{ host.data.db_password }}}} > ' + base + '/db')
            server.shell(f'echo {{quote(host.data.api_token)}} > {{base}}/token; cat {{base}}/token')
            wrapped = '%s-' % host.data.release_name.strip()
            server.shell(f"echo {{wrapped}}{{inline}} > {{base}}/wrapped")
            nested = '{{{{ host.data.settings.admin_passwd }}}} {{{{ host.data.deploy_secret.more[0] }}}}'
            server.shell(f'echo {{nested}} > {{base}}/nested; cat {{base}}/nested {{base}}/app.conf')
            server.shell('echo {{{{ host.data.deploy_secret.key }}}} >&2; exit 3', ignore_errors=True)

            def check(state, host, token):
                raise ValueError('refused ' + token)

            python.execute(check, host.data.api_token)
        """,
    }


@pytest.mark.parametrize(
    "flags",
    [
        ("-v",),
        ("-vv",),
        ("--debug", "-vv"),
        ("--debug-data",),
        ("--debug-state",),
        ("--debug-state", "--debug"),
        ("--dry", "-vv"),
        ("--dry", "--debug"),
    ],
    ids=lambda flags: " ".join(flags),
)
def test_secret_values_never_appear_in_output(pyinfra, deploy_dir, tmp_path, flags):
    root = deploy_dir(secrets_deploy(tmp_path))
    result = pyinfra("inventories/production.py", "deploy.py", *flags, cwd=root)
    for value in SECRETS:
        for form in shown_forms(value):
            assert form not in result.stdout, (form, result.stdout)
            assert form not in result.stderr, (form, result.stderr)
    assert "***" in result.output, result.output
    if flags[0] in ("-v", "-vv", "--debug"):
        # It ran, with the real values.
        assert result.returncode == 1, result.output
        assert "exit status 3" in result.output and "ValueError: refused ***" in result.output
        for name in ("127.0.0.2", "127.0.0.3"):
            base = tmp_path / f"out-{name}"
            assert (base / "db").read_text() == DB_PASSWORD + "\n"
            assert (base / "token").read_text() == API_TOKEN + "\n"
            assert (base / "wrapped").read_text() == f"{WRAPPED}-{INLINE}\n"
            assert (base / "nested").read_text() == f"{ADMIN_PASSWD} {NESTED}\n"
            assert (base / "app.conf").read_text() == f"password={DB_PASSWORD}\ntoken={API_TOKEN}\n"
    if flags[0] == "--debug-data":
        data = json.loads(result.stdout)["127.0.0.2"]["data"]
        assert data["db_password"] == {"value": "***", "source": "web"}
        assert data["deploy_secret"]["value"] == "***"
        assert data["release_name"]["value"] == "***"
        assert data["settings"]["value"] == {"admin_passwd": "***", "colour": "blue"}
    if flags[0] == "--debug-state":
        assert json.loads(result.stdout)["operations"], result.stdout


def test_secrets_in_inventory_errors_and_overrides_are_hidden(pyinfra, deploy_dir):
    root = deploy_dir(
        {
            "inventories/production.py": f"WEB = [('a', {{'db_password': {DB_PASSWORD!r}}}, 3)]\n",
            "deploy.py": "\n",
        }
    )
    result = pyinfra("inventories/production.py", "deploy.py", cwd=root)
    assert result.returncode == 1
    assert "('a', {'db_password': ***}, 3) is not a host" in result.stderr, result.stderr
    assert DB_PASSWORD not in result.output

    root = deploy_dir(
        {
            "inventories/production.py": "WEB = ['127.0.0.2']\n",
            "deploy.py": """
                from pyinfra import host
                from pyinfra.modules import server
                server.shell('echo ' + host.data.vault_token + '; exit 1')
            """,
        }
    )
    result = pyinfra(
        "inventories/production.py", "deploy.py", "-vv", "--data", "vault_token=Vault-Tok-8812", cwd=root
    )
    assert result.returncode == 1 and "exit status 1" in result.output, result.output
    assert "Vault-Tok-8812" not in result.output
