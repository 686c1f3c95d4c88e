"""Fixtures: the real gridcase-server binary on 127.0.0.1 with a temporary ledger, and the real
client library through its generated UniFFI bindings (GRIDCASE_BINDINGS points at them)."""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINDINGS = os.environ.get("GRIDCASE_BINDINGS", os.path.join(ROOT, "target", "bindings", "python"))
SERVER = os.environ.get("GRIDCASE_SERVER_BIN", os.path.join(ROOT, "target", "debug", "gridcase-server"))
PASSWORD = "python-demo-password"

sys.path.insert(0, BINDINGS)


class Server:
    def __init__(self, data_dir):
        env = dict(os.environ, GRIDCASE_DEMO_PASSWORD=PASSWORD, RUST_LOG="warn")
        self.proc = subprocess.Popen(
            [SERVER, "--listen", "127.0.0.1:0", "--demo", "--data-dir", data_dir],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        for line in self.proc.stdout:
            if "http://" in line:
                self.url = "http://" + line.split("http://")[1].strip()
                break
        else:
            raise RuntimeError("gridcase-server did not start")

    def request(self, method, path, token=None, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if token:
            req.add_header("authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def login(self, user):
        status, body = self.request("POST", "/v1/auth/login", body={"username": user, "password": PASSWORD})
        assert status == 200, body
        return body["access_token"]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def server():
    with tempfile.TemporaryDirectory() as tmp:
        s = Server(os.path.join(tmp, "ledger"))
        yield s
        s.stop()


@pytest.fixture
def handheld(server):
    """Makes a logged-in FieldClient for a demo user, each with its own local store."""
    import gridcase_client

    dirs = []

    def make(user):
        d = tempfile.TemporaryDirectory()
        dirs.append(d)
        client = gridcase_client.FieldClient.open(d.name, server.url)
        client.login(user, PASSWORD)
        return client

    yield make
    for d in dirs:
        d.cleanup()
