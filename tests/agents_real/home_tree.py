"""Snapshots of a temporary HOME, to check what `tokenbuddy agents
configure` created and that `restore` takes exactly that away again."""

from __future__ import annotations

import os
import pathlib

# A directory's entry in a snapshot.
DIR = "<dir>"


def snapshot(root: pathlib.Path) -> dict[str, bytes | str]:
    """Every file (its bytes), directory (`DIR`) and symlink (`-> target`)
    under `root`, by path relative to it."""
    found: dict[str, bytes | str] = {}
    for base, dirs, files in os.walk(root):
        here = pathlib.Path(base)
        for name in dirs + files:
            path = here / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                found[rel] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                found[rel] = DIR
            else:
                found[rel] = path.read_bytes()
    return found


def listing(directory: pathlib.Path) -> dict[str, bytes | str]:
    """The entries directly in `directory` (files with their bytes)."""
    if not directory.is_dir():
        return {}
    return {
        p.name: (DIR if p.is_dir() else p.read_bytes()) for p in sorted(directory.iterdir()) if not p.is_symlink()
    }


def diff(before: dict, after: dict) -> str:
    """What changed between two snapshots, one line per path."""
    lines = []
    for rel in sorted(set(before) | set(after)):
        if rel not in after:
            lines.append(f"  - {rel}")
        elif rel not in before:
            lines.append(f"  + {rel}")
        elif before[rel] != after[rel]:
            lines.append(f"  ~ {rel}")
    return "\n".join(lines) or "  (no change)"


def show(entry: bytes | str | None) -> str:
    """One snapshot entry as text, for failure messages."""
    if entry is None:
        return "(absent)"
    return entry.decode(errors="replace") if isinstance(entry, bytes) else entry


def created_dirs(before: dict, after: dict, root: pathlib.Path) -> list[pathlib.Path]:
    """The directories in `after` that `before` did not have, deepest first."""
    new = [root / rel for rel, entry in after.items() if entry == DIR and rel not in before]
    return sorted(new, key=lambda p: len(p.parts), reverse=True)


def configure_creating(demo, agent_id: str, model: str, expected: set[str]) -> list[pathlib.Path]:
    """Configures `agent_id` for `model`, which must create no file in HOME
    but `expected` (paths relative to it); returns the directories it
    created, deepest first."""
    before = snapshot(demo.home)
    demo.configure(agent_id, model)
    configured = snapshot(demo.home)
    new_files = {rel for rel, e in configured.items() if e != DIR and rel not in before}
    assert new_files == expected, f"configure created other files: {diff(before, configured)}"
    return created_dirs(before, configured, demo.home)


def assert_round_trip(demo, agent_id: str, model: str) -> None:
    """Configure then restore, before the agent ever ran, gives HOME back
    exactly: no file, no empty folder, no temp or backup file left."""
    before = snapshot(demo.home)
    demo.configure(agent_id, model)
    configured = snapshot(demo.home)
    assert configured != before, f"configure {agent_id} wrote nothing"
    demo.restore(agent_id)
    after = snapshot(demo.home)
    left = {rel: show(after[rel]) for rel in set(after) - set(before)}
    assert after == before, f"configure + restore of {agent_id} did not give HOME back:\n{diff(before, after)}\nleft: {left}"


def assert_restore_touched_only(path: pathlib.Path, before: dict, after: dict) -> None:
    """Restore changed nothing in `path`'s folder but `path` itself (`before`
    and `after` are `listing`s of that folder)."""
    others_before = {k: v for k, v in before.items() if k != path.name}
    others_after = {k: v for k, v in after.items() if k != path.name}
    assert others_after == others_before, (
        f"restore changed other files next to {path}:\n{diff(others_before, others_after)}"
    )


def assert_gone(path: pathlib.Path, made: list[pathlib.Path], restored) -> None:
    """The file configure created is gone, and so is every folder it created
    that nothing else has put a file in since (`restored` is the restore
    `Run`, for the message)."""
    assert not path.exists(), (
        f"restore left the file configure created, {path}:\n{path.read_text(errors='replace')}\n"
        f"--- restore said ---\n{restored.stdout}{restored.stderr}"
    )
    empty = [str(d) for d in made if d.is_dir() and not any(d.iterdir())]
    assert not empty, f"restore left the empty folders configure created: {empty}"
