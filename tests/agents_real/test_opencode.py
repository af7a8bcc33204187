"""opencode answers through TokenBuddy after `tokenbuddy agents configure
opencode`, every request of a run included, and `restore` gives the user's
file back.

opencode sends two requests per `opencode run`: the session title (to
`small_model` when one is set) and the answer (to `model`). Both must reach
TokenBuddy: the demo sellers' log has them with the configured model,
opencode's own log names our provider for each, and the provider the user's
file named before receives nothing. The file is checked by opencode's own
reader (`opencode debug config`: syntax and types; it drops unknown keys, so
our provider is compared with what it resolved).
"""

from __future__ import annotations

import json

import pytest

import home_tree
import jsonc
from harness import DEMO_TEXT, PROMPT, Demo, Run, check_answer, points_at, record, run
from request_log import assert_agent_logged

MODEL = "gpt-demo"
PROVIDER = "tokenbuddy"

# A hand-edited global config: comments, trailing commas, `$schema`, another
# provider that both `model` and `small_model` use, permissions and agents.
# OLD_PROVIDER_URL becomes the recording stand-in for that provider.
EXISTING = """\
// ~/.config/opencode/opencode.jsonc: global opencode settings, edited by hand.
{
  "$schema": "https://opencode.ai/config.json",
  "autoupdate": false,
  "share": "disabled",
  /* A local Ollama for offline work. */
  "provider": {
    "ollama": {
      "npm": "@ai-sdk/openai-compatible",
      "name": "Ollama (local)",
      "options": {
        "baseURL": "OLD_PROVIDER_URL",
      },
      "models": {
        "qwen2.5-coder:7b": { "name": "Qwen 2.5 Coder 7B" },
        "llama3.2:3b": { "name": "Llama 3.2 3B" },
      },
    },
  },
  "model": "ollama/qwen2.5-coder:7b",
  // Titles and summaries go to the small model.
  "small_model": "ollama/llama3.2:3b",
  "permission": {
    "edit": "ask",
    "bash": { "*": "ask", "git status": "allow", "git diff": "allow" },
    "webfetch": "deny",
  },
  "agent": {
    "plan": { "temperature": 0.1, "permission": { "edit": "deny" } },
    "review": {
      "description": "Reviews code for bugs first",
      "mode": "subagent",
      "prompt": "You are a careful code reviewer. Point out bugs first.",
      "tools": { "write": false, "edit": false },
    },
  },
  "instructions": ["CONTRIBUTING.md"],
}
"""

# Keys `agents configure opencode` may change; the rest must read the same.
OWNED = {"model", "small_model", "provider"}


def debug_config(opencode, demo: Demo, label: str) -> dict:
    """`opencode debug config`: the merged config as opencode reads it;
    exit 1 on a syntax or type error."""
    result = run([opencode.bin, "debug", "config"], env=opencode.env(demo.home), cwd=demo.workdir, timeout=60)
    record(f"opencode debug config ({label})", result.seconds)
    assert result.returncode == 0, f"opencode rejects its config ({label}):\n{result.describe()}"
    try:
        return json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"opencode debug config printed no JSON ({label}):\n{result.describe()}")


def stream_lines(log: str) -> list[dict]:
    """opencode's `message=stream` log lines (one per model call) as
    key=value fields."""
    calls = []
    for line in log.splitlines():
        if "message=stream " not in line:
            continue
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        calls.append(fields)
    return calls


def assert_every_request_served(demo: Demo, opencode, agent: Run, old_provider) -> None:
    """Title and answer both reached a demo seller with the configured model,
    and nothing reached the user's old provider."""
    context = demo.failure_context(agent)
    assert not old_provider.requests, (
        f"requests bypassed TokenBuddy and went to the provider the user's file named before: "
        f"{old_provider.requests}\n--- opencode's model calls ---\n{stream_lines(opencode.log_text(demo.home))}\n"
        f"{context}"
    )
    posts = demo.posts()
    wrong = [p for p in posts if p["path"] != "/v1/chat/completions" or p["model"] != MODEL]
    assert not wrong, f"requests with another path or model than {MODEL!r}: {wrong}\n{context}"
    # The demo sellers are pinned to one, without failover: one entry per request.
    assert len(posts) >= 2, f"opencode run sends a title and an answer request; {len(posts)} arrived\n{context}"
    assert all(p["stream"] for p in posts), f"opencode streams every request: {posts}"
    agents = {dict(p.get("headers") or []).get("user-agent", "").split("/")[0] for p in posts}
    assert agents == {"opencode"}, f"requests from something else than opencode: {posts}"

    calls = stream_lines(opencode.log_text(demo.home))
    assert calls, f"opencode's log has no `message=stream` lines (did its log format change?)\n{context}"
    elsewhere = [c for c in calls if c.get("providerID") != PROVIDER or c.get("modelID") != MODEL]
    assert not elsewhere, f"opencode sent model calls past TokenBuddy: {elsewhere}"
    assert any(c.get("small") == "true" for c in calls), f"no title (small model) call in opencode's log: {calls}"
    assert len(posts) >= len(calls), f"opencode made {len(calls)} model calls, {len(posts)} reached TokenBuddy"


@pytest.mark.parametrize("existing", [False, True], ids=["fresh-home", "existing-jsonc"])
def test_opencode(demo: Demo, opencode, old_provider, existing):
    case = "existing jsonc" if existing else "fresh home"
    config_dir = demo.home / ".config" / "opencode"
    path = config_dir / ("opencode.jsonc" if existing else "opencode.json")
    demo.pin_seller("demo-fast")

    original = EXISTING.replace("OLD_PROVIDER_URL", old_provider.url) if existing else None
    before_resolved = None
    if existing:
        config_dir.mkdir(parents=True)
        path.write_bytes(original.encode())
        # The test's own file is valid for this opencode, and opencode leaves
        # it alone (it adds `$schema` to files without one).
        before_resolved = debug_config(opencode, demo, "the user's file")
        assert before_resolved["small_model"] == "ollama/llama3.2:3b", before_resolved
        assert path.read_bytes() == original.encode(), "opencode rewrote the test's own file"
    else:
        home_tree.assert_round_trip(demo, "opencode", MODEL)

    expected = set() if existing else {str(path.relative_to(demo.home))}
    made = home_tree.configure_creating(demo, "opencode", MODEL, expected)

    resolved = debug_config(opencode, demo, case)
    assert resolved.get("model") == f"{PROVIDER}/{MODEL}", resolved
    ours = resolved.get("provider", {}).get(PROVIDER, {})
    assert points_at(ours.get("options", {}).get("baseURL", ""), demo.port), ours
    assert MODEL in ours.get("models", {}), ours
    # opencode drops keys it does not know: ours must come through whole
    # (with the key shown as "***").
    written = jsonc.loads(path.read_text(), trailing_commas=True)["provider"][PROVIDER]
    assert ours == {**written, "options": {**written["options"], "apiKey": "***"}}, (
        f"opencode read our provider differently from what the file says:\n{ours}\n--- file ---\n{path.read_text()}"
    )
    if existing:
        text = path.read_text()
        for kept in (original.splitlines()[0], "/* A local Ollama for offline work. */"):
            assert kept in text, f"configure lost {kept!r}:\n{text}"
        unchanged = {k: v for k, v in resolved.items() if k not in OWNED}
        assert unchanged == {k: v for k, v in before_resolved.items() if k not in OWNED}, (
            f"configure changed settings it does not own:\n{text}"
        )
        assert resolved["provider"]["ollama"] == before_resolved["provider"]["ollama"], resolved["provider"]

    result = run([opencode.bin, "run", PROMPT], env=opencode.env(demo.home), cwd=demo.workdir)
    record(f"opencode run ({case})", result.seconds)
    check_answer(result, "opencode run", DEMO_TEXT)
    assert_every_request_served(demo, opencode, result, old_provider)
    small = resolved.get("small_model")
    assert small is None or small.startswith(f"{PROVIDER}/"), f"small_model points past TokenBuddy: {small!r}"

    next_to_file = home_tree.listing(config_dir)
    restored = demo.restore("opencode")
    if existing:
        assert path.read_bytes() == original.encode(), f"restore did not give the original bytes back:\n{path.read_text()}"
    else:
        home_tree.assert_gone(path, made, restored)
    home_tree.assert_restore_touched_only(path, next_to_file, home_tree.listing(config_dir))
    assert_agent_logged(demo, "opencode")
