"""Figures for the desktop app under Xvfb (not a test: it prints numbers).

- start-up: from spawning the app to the first `/v1/chat/completions` answered
  200 by a demo seller (polled every 100 ms), median of 3 starts;
- idle: RSS and CPU time (utime+stime from /proc, the app and its WebKit
  children) over 60 s with the window closed (opened, the panel loaded,
  then closed as a window manager closes it), with no window ever (a
  `--hidden` login start) and, for comparison, with the panel window open.

Run: TOKENBUDDY_DESKTOP_BIN=path/to/tokenbuddy-desktop python tests/desktop/figures.py
"""

import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from test_tray import Desktop, Display, close_window, wait_for  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree(pid: int) -> list[int]:
    kids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                kids += tree(int(p))
    return [pid] + kids


def sample(pid: int) -> tuple[float, float]:
    cpu, rss = 0.0, 0
    for p in tree(pid):
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            cpu += (int(f[11]) + int(f[12])) / TICK
            rss += int(open(f"/proc/{p}/statm").read().split()[1]) * PAGE
        except OSError:
            pass
    return cpu, rss / 2**20


def run(hidden: bool, closed: bool = False) -> None:
    work = pathlib.Path(tempfile.mkdtemp(prefix="tb-figures-"))
    (work / "home").mkdir()
    (work / "data").mkdir()
    display = Display(work, tray=True)
    try:
        app = Desktop(display, work / "home", work / "data", *(["--hidden"] if hidden else []))
        app.ready(window=not hidden)
        time.sleep(5)  # let start-up settle (and the panel load) before the idle window
        if closed:
            close_window(display)
            wait_for("the window to hide", lambda: not display.window())
            time.sleep(2)
        cpu0, _ = sample(app.proc.pid)
        t0 = time.monotonic()
        time.sleep(60)
        cpu1, rss = sample(app.proc.pid)
        secs = time.monotonic() - t0
        what = "no window (--hidden)" if hidden else "window closed" if closed else "panel window open"
        print(f"idle 60 s, {what}: CPU {cpu1 - cpu0:.2f} s ({100 * (cpu1 - cpu0) / secs:.2f} %), "
              f"RSS {rss:.0f} MiB (app + children: {len(tree(app.proc.pid))} processes)")
        app.menu("Up", "Return")
        app.wait_exit()
    finally:
        display.close()
        shutil.rmtree(work, ignore_errors=True)


def startup() -> None:
    times = []
    for _ in range(3):
        work = pathlib.Path(tempfile.mkdtemp(prefix="tb-figures-"))
        (work / "home").mkdir()
        (work / "data").mkdir()
        display = Display(work, tray=True)
        try:
            t0 = time.monotonic()
            app = Desktop(display, work / "home", work / "data")
            def answered():
                try:
                    return app.chat() == 200
                except (OSError, AssertionError, ValueError):
                    return False
            app.port()
            wait_for("proxy answering", answered)
            times.append(time.monotonic() - t0)
            app.ready()
            app.menu("Up", "Return")
            app.wait_exit()
        finally:
            display.close()
            shutil.rmtree(work, ignore_errors=True)
    print(f"start-up to proxy answering: median {1000 * statistics.median(times):.0f} ms "
          f"(runs: {', '.join(f'{1000 * t:.0f}' for t in times)} ms)")


if __name__ == "__main__":
    startup()
    run(hidden=False, closed=True)
    run(hidden=True)
    run(hidden=False)
