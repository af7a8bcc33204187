"""Starts a real `tokenbuddy serve --demo` for the SDK tests (one per
session), and the official clients pointed at it."""

import contextlib
import json
import os
import pathlib
import subprocess
import tempfile
import threading
import urllib.request

import anthropic
import openai
import pytest


def _binary() -> str:
    explicit = os.environ.get("TOKENBUDDY_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR", str(pathlib.Path(__file__).parents[2] / "target"))
    return str(pathlib.Path(target) / "debug" / "tokenbuddy")


def _put_json(url: str, token: str, body: dict) -> None:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200, resp.read()


@contextlib.contextmanager
def serve_sellers(sellers_yaml: str, prefix: str = "tokenbuddy-sdk-"):
    """A real `tokenbuddy serve --port 0` in a fresh data dir whose
    `sellers.yaml` is `sellers_yaml`; yields its (url, token)."""
    data = tempfile.mkdtemp(prefix=prefix)
    with open(os.path.join(data, "sellers.yaml"), "w") as f:
        f.write(sellers_yaml)
    env = dict(os.environ, TOKENBUDDY_DATA_DIR=data)
    proc = subprocess.Popen(
        [_binary(), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        listening = "TokenBuddy listening on "
        assert line.startswith(listening), f"unexpected first line: {line!r}"
        url = line[len(listening):].strip()
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        token = subprocess.run(
            [_binary(), "token"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        yield url, token
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Server:
    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token


@pytest.fixture(scope="session")
def server():
    data = tempfile.mkdtemp(prefix="tokenbuddy-sdk-")
    env = dict(os.environ, TOKENBUDDY_DATA_DIR=data)
    proc = subprocess.Popen(
        # No simulated client load: the tests count requests.
        [_binary(), "serve", "--demo", "--demo-load", "off", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        # The first line names the URL; a hang here is a startup failure.
        found = {}

        def read_first_line():
            found["line"] = proc.stdout.readline()

        reader = threading.Thread(target=read_first_line, daemon=True)
        reader.start()
        reader.join(timeout=30)
        line = found.get("line", "")
        prefix = "TokenBuddy listening on "
        assert line.startswith(prefix), f"unexpected first line: {line!r}"
        url = line[len(prefix):].strip()
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        token = subprocess.run(
            [_binary(), "token"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        # Route everything to the flaky demo seller first (the others stand by),
        # so every fourth call meets a 503 that TokenBuddy must hide.
        _put_json(
            url + "/api/routing",
            token,
            {"mode": "fixed", "fixedSeller": "demo-flaky", "fixedFailover": True},
        )
        yield Server(url, token)
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0, "tokenbuddy did not shut down cleanly on SIGTERM"


@pytest.fixture()
def oai(server):
    """The OpenAI SDK on TokenBuddy's `/v1`."""
    # No SDK retries: a flaky demo seller must be hidden by TokenBuddy's failover, not by the SDK.
    return openai.OpenAI(base_url=server.url + "/v1", api_key=server.token, max_retries=0)


@pytest.fixture()
def ant(server):
    """The Anthropic SDK on TokenBuddy."""
    return anthropic.Anthropic(base_url=server.url, api_key=server.token, max_retries=0)
