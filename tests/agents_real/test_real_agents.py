"""Real coding agents answer through TokenBuddy after `tokenbuddy agents
configure <id>`, and nothing else points them there.

Each test: a fresh HOME and data directory, `tokenbuddy serve --demo`, an
optional realistic pre-existing agent config, `tokenbuddy agents configure`,
then the agent's own one-shot command. The proof is the demo sellers' log
(`GET /api/demo/requests`): the agent's request arrived there with the
configured model. The demo sellers answer with filler text, so the answer's
content is not checked, only that there is one.

opencode and Qwen Code have files of their own (`test_opencode.py`,
`test_qwen_code.py`): they also prove that no request goes past TokenBuddy
and that `restore` gives the original bytes back.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from harness import PROMPT, Demo, check_answer, clean_env, points_at, record, run
from request_log import assert_agent_logged


# --------------------------------------------------------------------------
# Codex
# --------------------------------------------------------------------------

CODEX_EXISTING = """\
# ~/.codex/config.toml, edited by hand
model = "gpt-5.1-codex"
model_reasoning_effort = "medium"
approval_policy = "on-request"

[model_providers.ollama-local]
name = "Ollama (local)"
base_url = "http://127.0.0.1:11434/v1"
wire_api = "responses"

[profiles.fast]
model = "gpt-5.1-codex-mini"
model_reasoning_effort = "low"

[history]
persistence = "save-all"
"""


@pytest.mark.parametrize("existing", [False, True], ids=["fresh-home", "existing-config"])
def test_codex(demo: Demo, codex_bin, existing):
    model = "gpt-demo"
    config = demo.home / ".codex" / "config.toml"
    if existing:
        config.parent.mkdir(parents=True)
        config.write_text(CODEX_EXISTING)

    demo.configure("codex", model)

    result = run(
        [codex_bin, "exec", "--skip-git-repo-check", "--color", "never", "-c", "analytics.enabled=false", PROMPT],
        env=clean_env(demo.home),
        cwd=demo.workdir,
    )
    record(f"codex exec ({'existing config' if existing else 'fresh home'})", result.seconds)
    check_answer(result, "codex exec")
    hit = demo.assert_served({"/v1/responses"}, model, result)
    assert hit["stream"], "Codex streams /v1/responses"

    if existing:
        text = config.read_text()
        for kept in ("# ~/.codex/config.toml, edited by hand", "[model_providers.ollama-local]", "[profiles.fast]", "[history]"):
            assert kept in text, f"configure lost {kept!r}:\n{text}"
    assert_agent_logged(demo, "codex")


# --------------------------------------------------------------------------
# Claude Code
# --------------------------------------------------------------------------

CLAUDE_EXISTING = {
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "permissions": {"allow": ["Bash(npm run test:*)"], "deny": ["Read(./.env)"]},
    # An old key: Claude Code prefers ANTHROPIC_API_KEY over ANTHROPIC_AUTH_TOKEN,
    # so configure must neutralise it or the request never authenticates.
    "env": {"ANTHROPIC_API_KEY": "sk-ant-api03-an-old-key", "DISABLE_TELEMETRY": "1"},
    "includeCoAuthoredBy": False,
}


@pytest.mark.parametrize("existing", [False, True], ids=["fresh-home", "existing-settings"])
def test_claude_code(demo: Demo, claude_bin, existing):
    model = "claude-demo"
    settings = demo.home / ".claude" / "settings.json"
    if existing:
        settings.parent.mkdir(parents=True)
        settings.write_text(json.dumps(CLAUDE_EXISTING, indent=2) + "\n")

    demo.configure("claude-code", model)

    result = run(
        [claude_bin, "-p", PROMPT],
        env=clean_env(demo.home, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1"),
        cwd=demo.workdir,
    )
    record(f"claude -p ({'existing settings' if existing else 'fresh home'})", result.seconds)
    check_answer(result, "claude -p")
    demo.assert_served({"/v1/messages"}, model, result)

    if existing:
        after = json.loads(settings.read_text())
        assert after.get("permissions") == CLAUDE_EXISTING["permissions"], after
        assert after.get("env", {}).get("DISABLE_TELEMETRY") == "1", after
        assert after.get("includeCoAuthoredBy") is False, after
    assert_agent_logged(demo, "claude-code")


# --------------------------------------------------------------------------
# OpenClaw
# --------------------------------------------------------------------------

OPENCLAW_OBJECT_MODEL = """\
// ~/.openclaw/openclaw.json (JSON5: comments and trailing commas are fine)
{
  meta: { lastTouchedVersion: "2026.9.6" },
  gateway: {
    port: 18789,
    mode: "local",
  },
  models: {
    providers: {
      /* A local Ollama for offline work. */
      ollama: {
        baseUrl: "http://127.0.0.1:11434/v1",
        apiKey: "ollama-local",
        api: "openai-completions",
        models: [
          { id: "qwen2.5-coder:7b", name: "Qwen 2.5 Coder 7B", contextWindow: 32768, maxTokens: 8192 },
        ],
      },
    },
  },
  agents: {
    defaults: {
      // primary first, then the fallbacks in order
      model: {
        primary: "ollama/qwen2.5-coder:7b",
        fallbacks: ["ollama/qwen2.5-coder:7b"],
      },
      models: {
        "ollama/qwen2.5-coder:7b": { alias: "coder" },
      },
      workspace: "~/projects",
    },
  },
}
"""

OPENCLAW_STRING_MODEL = """\
// OpenClaw, the short form: the default model is a plain "provider/model" string.
{
  models: {
    providers: {
      /* A local Ollama for offline work. */
      ollama: {
        baseUrl: "http://127.0.0.1:11434/v1",
        apiKey: "ollama-local",
        models: [{ id: "qwen2.5-coder:7b", name: "Qwen 2.5 Coder 7B" }],
      },
    },
  },
  agents: {
    defaults: {
      model: "ollama/qwen2.5-coder:7b", // trailing comma next
    },
  },
}
"""


@pytest.mark.parametrize(
    "original",
    [OPENCLAW_OBJECT_MODEL, OPENCLAW_STRING_MODEL, None],
    ids=["model-object", "model-string", "fresh-home"],
)
def test_openclaw(demo: Demo, openclaw, original):
    model = "gpt-demo"
    case = {OPENCLAW_OBJECT_MODEL: "object model", OPENCLAW_STRING_MODEL: "string model", None: "fresh home"}[original]
    path = demo.home / ".openclaw" / "openclaw.json"
    env = openclaw.env(demo.home)
    if original is not None:
        path.parent.mkdir(parents=True)
        path.write_text(original)
        before = run(openclaw.argv("config", "validate", "--json"), env=env, cwd=demo.workdir)
        assert before.returncode == 0, f"the test's own config is invalid:\n{before.describe()}"

    demo.configure("openclaw", model)

    # The file is JSON5 that OpenClaw's strict schema accepts.
    validate = run(openclaw.argv("config", "validate", "--json"), env=env, cwd=demo.workdir)
    record(f"openclaw config validate ({case})", validate.seconds)
    assert validate.returncode == 0, (
        f"OpenClaw rejects the configured file:\n{validate.describe()}\n--- file ---\n{path.read_text()}"
    )
    assert json.loads(validate.stdout).get("valid") is True, validate.describe()

    # TokenBuddy's provider is the default model; nothing else changed.
    cfg = openclaw.parse_json5(path)
    providers = cfg["models"]["providers"]
    ours = [pid for pid, p in providers.items() if points_at(p.get("baseUrl", ""), demo.port)]
    assert len(ours) == 1, f"expected one provider pointing at port {demo.port}: {providers}"
    ref = f"{ours[0]}/{model}"
    chosen = cfg["agents"]["defaults"]["model"]
    primary = chosen.get("primary") if isinstance(chosen, dict) else chosen
    assert primary == ref, chosen
    if original is not None:
        text = path.read_text()
        assert "A local Ollama for offline work." in text, f"configure dropped a comment:\n{text}"
        assert providers["ollama"]["baseUrl"] == "http://127.0.0.1:11434/v1", providers
    if original is OPENCLAW_OBJECT_MODEL:
        assert isinstance(chosen, dict), f"the {{primary, fallbacks}} object became {chosen!r}"
        assert chosen.get("fallbacks") == ["ollama/qwen2.5-coder:7b"], f"fallbacks lost: {chosen}"
        assert cfg["agents"]["defaults"]["models"]["ollama/qwen2.5-coder:7b"] == {"alias": "coder"}
        assert cfg["agents"]["defaults"]["workspace"] == "~/projects", cfg["agents"]["defaults"]

    # And the real agent answers through TokenBuddy (no gateway needed).
    result = run(openclaw.argv("agent", "exec", "--json", PROMPT), env=env, cwd=demo.workdir)
    record(f"openclaw agent exec ({case})", result.seconds)
    check_answer(result, "openclaw agent exec")
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"openclaw agent exec --json printed no JSON:\n{result.describe()}")
    assert answer.get("final"), f"no final answer:\n{result.describe()}"
    demo.assert_served({"/v1/chat/completions", "/v1/responses", "/v1/messages"}, model, result)
    assert_agent_logged(demo, "openclaw")


# --------------------------------------------------------------------------
# Hermes
# --------------------------------------------------------------------------

HERMES_MAPPING = textwrap.dedent(
    """\
    # ~/.hermes/config.yaml
    # Seeded by the Hermes installer, then edited by hand.
    _config_version: 33

    model:
      # Which model Hermes talks to by default.
      default: anthropic/claude-sonnet-4.6
      provider: openrouter
    # (a column-0 comment inside the model block)
      base_url: https://openrouter.ai/api/v1

    providers: {}
    fallback_providers: []

    custom_providers:
      - name: local-llama
        base_url: http://127.0.0.1:8080/v1
        api_mode: chat_completions
        model: llama-3.1-8b-instruct

    toolsets:
      - hermes-cli

    agent:
      max_turns: 90
      personalities:
        reviewer: |
          You are a careful code reviewer.
          Point out bugs first.

    terminal:
      backend: local
      cwd: "."
      timeout: 180
      env_passthrough: []

    auxiliary:
      compression: &aux
        provider: auto
        model: ""
        timeout: 120
      web_extract:
        <<: *aux
        timeout: 360

    display:
      compact: false
    """
)

HERMES_STRING = textwrap.dedent(
    """\
    # Hermes with the short form: model is a plain string.
    model: anthropic/claude-opus-4.6

    toolsets:
      - hermes-cli

    terminal:
      backend: local
      env_passthrough: []
    """
)


@pytest.mark.parametrize(
    "original", [HERMES_MAPPING, HERMES_STRING, None], ids=["model-mapping", "model-string", "fresh-home"]
)
def test_hermes(demo: Demo, hermes, original):
    model = "gpt-demo"
    case = {HERMES_MAPPING: "mapping model", HERMES_STRING: "string model", None: "fresh home"}[original]
    path = demo.home / ".hermes" / "config.yaml"
    if original is not None:
        path.parent.mkdir(parents=True)
        path.write_text(original)

    demo.configure("hermes", model)

    # Still YAML (read by the PyYAML Hermes itself uses), the rest intact.
    dumped = run(
        [hermes.python, "-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", path],
        env=hermes.env(demo.home),
        timeout=60,
    )
    assert dumped.returncode == 0, f"the configured file is not YAML:\n{dumped.describe()}\n{path.read_text()}"
    cfg = json.loads(dumped.stdout)
    assert isinstance(cfg.get("model"), dict), f"model is not a mapping: {cfg.get('model')!r}"
    assert points_at(cfg["model"].get("base_url", ""), demo.port), cfg["model"]
    if original is not None:
        text = path.read_text()
        assert text.splitlines()[0] == original.splitlines()[0], f"the header comment is gone:\n{text}"
        assert cfg["toolsets"] == ["hermes-cli"], cfg
        assert cfg["terminal"]["env_passthrough"] == [], cfg
    if original is HERMES_MAPPING:
        assert cfg["custom_providers"][0]["name"] == "local-llama", cfg
        assert cfg["agent"]["personalities"]["reviewer"] == "You are a careful code reviewer.\nPoint out bugs first.\n"
        # Auxiliary tasks go through TokenBuddy too (`provider: main`); the
        # anchor and the merge key still resolve, each task's timeout kept.
        aux = cfg["auxiliary"]
        assert aux["compression"] == {"provider": "main", "model": model, "timeout": 120}, aux
        assert aux["web_extract"] == {"provider": "main", "model": model, "timeout": 360}, aux
        text = path.read_text()
        assert "compression: &aux" in text and "<<: *aux" in text, f"the anchor or merge key is gone:\n{text}"

    result = run([hermes.bin, "-z", PROMPT], env=hermes.env(demo.home), cwd=demo.workdir)
    record(f"hermes -z ({case})", result.seconds)
    check_answer(result, "hermes -z")
    assert "Failed to parse" not in result.stdout + result.stderr, result.describe()
    demo.assert_served({"/v1/chat/completions"}, model, result)
    assert_agent_logged(demo, "hermes")
