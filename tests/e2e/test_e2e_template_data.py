"""A template or jinja2 argument that renders a host.data key no layer defines fails the
build, naming the template, line, key and the closest defined keys (issue 13); Python
code keeps 0.1's None for a missing key."""


def make(deploy_dir, tmp_path, template, deploy_line):
    return deploy_dir(
        {
            "group_data/all.py": "listen_port = 8080\nlisten_host = '0.0.0.0'\n",
            "templates/app.conf.jn2": template,
            "deploy.py": f"""
            from pyinfra import host
            from pyinfra.modules import files, server
            {deploy_line}
            """,
        }
    )


def test_typo_in_a_template_fails_the_build(pyinfra, deploy_dir, tmp_path):
    root = make(
        deploy_dir,
        tmp_path,
        "# app\nhost = {{ host.data.listen_host }}\nport = {{ host.data.listen_prot }}\n",
        f"files.template('templates/app.conf.jn2', '{tmp_path}/app.conf')",
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 1, result.output
    assert "app.conf.jn2, line 3" in result.output, result.output
    assert "listen_prot" in result.output and "did you mean listen_port" in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "app.conf").exists()


def test_typo_in_a_jinja_argument_fails_the_build(pyinfra, deploy_dir, tmp_path):
    root = make(
        deploy_dir,
        tmp_path,
        "x\n",
        f"server.shell('echo {{{{ host.data.listen_prot }}}} > {tmp_path}/port')",
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 1, result.output
    assert "listen_prot" in result.output and "did you mean listen_port" in result.output, result.output
    assert "deploy.py, line 3: server.shell(): template error" in result.output, result.output
    assert not (tmp_path / "port").exists()


def test_defined_default_and_python_none_keep_working(pyinfra, deploy_dir, tmp_path):
    root = make(
        deploy_dir,
        tmp_path,
        "{% if host.data.workers is defined %}w{% endif %}"
        "port = {{ host.data.listen_port }}\n"
        "workers = {{ host.data.workers | default(4) }}\n"
        "name = {{ data.app_name | default('app') }}\n",
        f"files.template('templates/app.conf.jn2', '{tmp_path}/app.conf')\n"
        f"            server.shell('echo ' + str(host.data.missing_key) + ' > {tmp_path}/none')",
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert (tmp_path / "app.conf").read_text() == "port = 8080\nworkers = 4\nname = app\n"
    assert (tmp_path / "none").read_text() == "None\n"


def test_put_and_template_into_a_missing_directory(pyinfra, deploy_dir, tmp_path):
    root = deploy_dir(
        {
            "files/app.conf": "listen 80\n",
            "templates/motd.jn2": "hello {{ host.name }}\n",
            "deploy.py": f"""
            from pyinfra.modules import files
            files.put('files/app.conf', '{tmp_path}/new/etc/app.conf', mode=640)
            files.template('templates/motd.jn2', '{tmp_path}/new/motd/motd')
            """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert result.returncode == 0, result.output
    assert (tmp_path / "new/etc/app.conf").read_text() == "listen 80\n"
    assert (tmp_path / "new/motd/motd").read_text() == "hello 127.0.0.2\n"
    again = pyinfra("127.0.0.2", "deploy.py", cwd=root)
    assert again.returncode == 0 and " 0 changed" in again.output, again.output

    strict = deploy_dir(
        {
            "deploy.py": f"""
            from pyinfra.modules import files
            files.put('files/app.conf', '{tmp_path}/other/app.conf', create_remote_dir=False)
            """,
        }
    )
    result = pyinfra("127.0.0.2", "deploy.py", cwd=strict)
    assert result.returncode == 1, result.output
    # The host's own words (dash: "Directory nonexistent"; bash: "No such file...").
    assert "nonexistent" in result.output or "No such file" in result.output, result.output
    assert not (tmp_path / "other").exists()
