"""Qwen Code answers through TokenBuddy after `tokenbuddy agents configure
qwen-code`, and `restore` gives the user's settings back.

Qwen Code reads `~/.qwen/settings.json` (comments allowed, trailing commas
not: it strips comments, then `JSON.parse`), takes the key of the selected
`modelProviders.openai` entry from `process.env[envKey]` (our config sets it
through the settings `env` block) and sends side requests to `fastModel`
when one is set. Every request of a `qwen -p` run must reach TokenBuddy with
the configured model, and the provider the user's file named before must
receive nothing. Qwen Code has no config checker: a settings file it cannot
read stops it ("An unexpected critical error occurred", exit 1) and is
copied to `settings.json.corrupted`; the file is parsed here with its
grammar, and the run and that copy are checked.
"""

from __future__ import annotations

import pytest

import home_tree
import jsonc
from harness import DEMO_TEXT, PROMPT, Demo, Run, check_answer, points_at, record, run
from request_log import assert_agent_logged

MODEL = "gpt-demo"

_HEADER = """\
// ~/.qwen/settings.json: Qwen Code user settings, edited by hand.
{
  "$version": 4,
  "ui": {
    "theme": "GitHub",
    "hideTips": true
  },
  "general": { "vimMode": false },
  "privacy": { "usageStatisticsEnabled": false },
"""

# A DashScope user: `modelProviders.openai` holds two entries of theirs, the
# key comes from the env block, and `fastModel` sends Qwen Code's side
# requests (one per `qwen -p` run) to the cheap one. OLD_PROVIDER_URL is the
# recording stand-in for DashScope.
OTHER_ENTRIES = (
    _HEADER
    + """\
  // Keys come from the env block below.
  "security": {
    "auth": { "selectedType": "openai" }
  },
  "model": {
    "name": "qwen3-coder-plus",
    "maxSessionTurns": 40
  },
  // Side requests (summaries, suggestions) on the cheap model.
  "fastModel": "qwen3-coder-flash",
  "modelProviders": {
    "openai": [
      {
        "id": "qwen3-coder-plus",
        "name": "Qwen3 Coder Plus (DashScope)",
        "description": "the big one",
        "baseUrl": "OLD_PROVIDER_URL",
        "envKey": "DASHSCOPE_API_KEY"
      },
      {
        "id": "qwen3-coder-flash",
        "name": "Qwen3 Coder Flash (DashScope)",
        "baseUrl": "OLD_PROVIDER_URL",
        "envKey": "DASHSCOPE_API_KEY"
      }
    ]
  },
  "env": { "DASHSCOPE_API_KEY": "sk-dashscope-an-old-key" }
}
"""
)

# A Qwen OAuth user: no `modelProviders` at all.
NO_OPENAI_LIST = (
    _HEADER
    + """\
  "security": {
    "auth": { "selectedType": "qwen-oauth" }
  },
  "model": { "name": "coder-model" },
  "tools": { "approvalMode": "default" }
}
"""
)


def qwen_parse(text: str) -> dict:
    """Settings as Qwen Code reads them (a trailing comma is an error)."""
    return jsonc.loads(text)


# case -> (the user's file or None, the model to configure). In "same-id" the
# user keeps the model they had: their entry for it must then lead to us.
CASES = {
    "fresh-home": (None, MODEL),
    "other-entries": (OTHER_ENTRIES, MODEL),
    "same-id": (OTHER_ENTRIES, "qwen3-coder-plus"),
    "no-openai-list": (NO_OPENAI_LIST, MODEL),
}


def ours(cfg: dict, demo: Demo) -> list[dict]:
    """The `modelProviders.openai` entries that point at this TokenBuddy."""
    entries = cfg.get("modelProviders", {}).get("openai", [])
    return [e for e in entries if points_at(e.get("baseUrl", ""), demo.port)]


def check_configured(cfg: dict, before: dict | None, demo: Demo, model: str, text: str) -> None:
    """Our entry is the selected model, its key resolves, the rest is kept."""
    entries = ours(cfg, demo)
    assert len(entries) == 1, f"expected one modelProviders.openai entry at port {demo.port}:\n{text}"
    entry = entries[0]
    assert entry.get("id") == model, entry
    listed = cfg.get("modelProviders", {}).get("openai", [])
    first = next(e for e in listed if e.get("id") == model)
    assert first is entry, f"Qwen Code takes the first entry for {model!r}, and that one is not ours: {first}\n{text}"
    assert cfg.get("model", {}).get("name") == model, cfg.get("model")
    assert cfg.get("security", {}).get("auth", {}).get("selectedType") == "openai", cfg.get("security")
    assert cfg.get("env", {}).get(entry.get("envKey")) == demo.token, "the entry's envKey does not resolve to the token"
    if before is None:
        return
    for key in ("$version", "ui", "general", "privacy", "tools"):
        assert cfg.get(key) == before.get(key), f"configure changed {key!r}:\n{text}"
    others = [e for e in cfg.get("modelProviders", {}).get("openai", []) if e not in entries]
    theirs = [e for e in before.get("modelProviders", {}).get("openai", []) if e.get("id") != model]
    assert others == theirs, f"the user's entries for other models changed:\n{text}"
    kept_model = {k: v for k, v in cfg["model"].items() if k != "name"}
    assert kept_model == {k: v for k, v in before["model"].items() if k != "name"}, cfg["model"]
    kept_env = {k: v for k, v in cfg.get("env", {}).items() if k != entry.get("envKey")}
    assert kept_env == before.get("env", {}), cfg.get("env")
    assert text.splitlines()[0] == "// ~/.qwen/settings.json: Qwen Code user settings, edited by hand.", text


def assert_every_request_served(demo: Demo, agent: Run, old_provider, model: str, cfg: dict) -> None:
    context = demo.failure_context(agent)
    assert not old_provider.requests, (
        f"requests bypassed TokenBuddy and went to the provider the user's file named before: "
        f"{old_provider.requests} (fastModel: {cfg.get('fastModel')!r})\n{context}"
    )
    posts = demo.posts()
    assert posts, f"no request reached a demo seller\n{context}"
    wrong = [p for p in posts if p["path"] != "/v1/chat/completions" or p["model"] != model]
    assert not wrong, f"requests with another path or model than {model!r}: {wrong}\n{context}"
    agents = {dict(p.get("headers") or []).get("user-agent", "").split("/")[0] for p in posts}
    assert agents == {"QwenCode"}, f"requests from something else than Qwen Code: {posts}"


@pytest.mark.parametrize("case", list(CASES))
def test_qwen_code(demo: Demo, qwen_code, old_provider, case):
    path = demo.home / ".qwen" / "settings.json"
    demo.pin_seller("demo-fast")
    template, model = CASES[case]
    original = template.replace("OLD_PROVIDER_URL", old_provider.url) if template else None
    before = None
    if original is not None:
        path.parent.mkdir(parents=True)
        path.write_bytes(original.encode())
        before = qwen_parse(original)
    else:
        home_tree.assert_round_trip(demo, "qwen-code", model)

    expected = {str(path.relative_to(demo.home))} if original is None else set()
    made = home_tree.configure_creating(demo, "qwen-code", model, expected)

    text = path.read_text()
    try:
        cfg = qwen_parse(text)
    except ValueError as e:
        pytest.fail(f"Qwen Code cannot read the configured file ({e}):\n{text}")
    check_configured(cfg, before, demo, model, text)

    result = run([qwen_code.bin, "-p", PROMPT], env=qwen_code.env(demo.home), cwd=demo.workdir)
    record(f"qwen -p ({case})", result.seconds)
    check_answer(result, "qwen -p", DEMO_TEXT)
    assert not path.with_name("settings.json.corrupted").exists(), f"Qwen Code could not read its settings:\n{text}"
    assert_every_request_served(demo, result, old_provider, model, cfg)

    next_to_file = home_tree.listing(path.parent)
    restored = demo.restore("qwen-code")
    if original is not None:
        assert path.read_bytes() == original.encode(), f"restore did not give the original bytes back:\n{path.read_text()}"
    else:
        home_tree.assert_gone(path, made, restored)
    home_tree.assert_restore_touched_only(path, next_to_file, home_tree.listing(path.parent))
    assert_agent_logged(demo, "qwen-code")
