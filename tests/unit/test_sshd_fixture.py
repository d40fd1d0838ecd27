"""Checks that the private sshd / hang-server fixtures really work."""

import socket
import subprocess

import paramiko


def test_openssh_client_runs_command(sshd):
    result = subprocess.run(
        [
            "ssh",
            "-i",
            sshd.client_key,
            "-p",
            str(sshd.port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile={}".format(sshd.known_hosts),
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "root@127.0.0.2",
            "echo ok-$((1+1))",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok-2"


def test_paramiko_runs_command(sshd):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            "127.0.0.3",
            port=sshd.port,
            username="root",
            key_filename=sshd.client_key,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        _, stdout, _ = client.exec_command("id -u", timeout=10)
        output = stdout.read().decode().strip()
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()
    assert output == "0"


def test_hang_port_sends_nothing(hang_port):
    with socket.create_connection(("127.0.0.1", hang_port), timeout=2) as sock:
        sock.settimeout(0.5)
        try:
            data = sock.recv(1024)
        except socket.timeout:
            data = None
    assert data is None, "hang server sent {!r}".format(data)
