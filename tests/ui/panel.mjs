// The control panel in headless Chromium (Debian's, driven by playwright-core)
// against a real `tokenbuddy serve --demo` in a temporary HOME: the demo
// sellers are listed; Codex shows as not configured; Preview shows the diff
// and writes nothing; Configure with a picked model points Codex at
// TokenBuddy (the file changes, the state says so); Restore gives back the
// original bytes; a guide-only agent shows its guide; the doctor runs.
//
// Usage: node tests/ui/panel.mjs <path to tokenbuddy binary>

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const bin = process.argv[2];
if (!bin) throw new Error("usage: node tests/ui/panel.mjs <tokenbuddy binary>");
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const home = mkdtempSync(join(tmpdir(), "tb-ui-home-"));
const data = mkdtempSync(join(tmpdir(), "tb-ui-data-"));
const config = join(home, ".codex", "config.toml");
const original = '# my Codex settings\nmodel = "gpt-5"\n\n[history]\npersistence = "none"\n';
mkdirSync(dirname(config), { recursive: true });
writeFileSync(config, original);

const server = spawn(bin, ["serve", "--demo", "--port", "0"], {
  env: { HOME: home, TOKENBUDDY_DATA_DIR: data, TOKENBUDDY_UI_DIR: join(root, "ui", "dist"), PATH: "/usr/bin:/bin" },
  stdio: ["ignore", "pipe", "inherit"],
});
const lines = createInterface({ input: server.stdout });
const panelUrl = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("serve did not start")), 30000);
  lines.on("line", (line) => {
    const m = line.match(/^Control panel: (\S+)/);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(panelUrl);

  // Sellers: the three demo sellers.
  await page.locator("#sellers tbody tr").nth(2).waitFor();
  assert.equal(await page.locator("#sellers tbody tr").count(), 3);

  // Agents: Codex is listed, not configured.
  const codex = page.locator('#agents tr[data-agent="codex"]');
  await codex.waitFor();
  assert.equal(await codex.locator(".agent-state").textContent(), "not configured");

  // Preview: a diff, nothing written.
  await codex.locator("input").fill("panel-model");
  await codex.getByRole("button", { name: "Preview" }).click();
  await page.locator("#agent-result pre.diff").waitFor();
  const diff = await page.locator("#agent-result pre.diff").textContent();
  assert.match(diff, /\+model_provider = "tokenbuddy"/);
  assert.match(diff, /\+model = "panel-model"/);
  assert.equal(readFileSync(config, "utf8"), original, "Preview must not write");

  // Configure: the file points at TokenBuddy, the row says configured.
  await codex.locator("input").fill("panel-model");
  await codex.getByRole("button", { name: "Configure" }).click();
  await page.waitForFunction(() =>
    document.querySelector('#agents tr[data-agent="codex"] .agent-state')?.textContent === "configured");
  const written = readFileSync(config, "utf8");
  assert.match(written, /model_provider = "tokenbuddy"/);
  assert.match(written, /model = "panel-model"/);
  assert.ok(written.startsWith("# my Codex settings\n"), "the user's comment stays");

  // Restore: the original bytes.
  await page.locator('#agents tr[data-agent="codex"]').getByRole("button", { name: "Restore" }).click();
  await page.waitForFunction(() =>
    document.querySelector('#agents tr[data-agent="codex"] .agent-state')?.textContent === "not configured");
  assert.equal(readFileSync(config, "utf8"), original, "Restore gives back the original bytes");

  // A guide-only agent explains itself.
  const cursor = page.locator('#agents tr[data-agent="cursor"]');
  await cursor.locator("summary").click();
  assert.match(await cursor.locator("details p").textContent(), /127\.0\.0\.1/);

  // The doctor runs and lists checks.
  await page.getByRole("button", { name: "Run checks" }).click();
  await page.locator("#doctor li.check").first().waitFor();
  assert.ok((await page.locator("#doctor li.check").count()) >= 3);

  await page.screenshot({ path: process.env.PANEL_SCREENSHOT ?? join(data, "panel.png"), fullPage: true });
  assert.deepEqual(errors, [], "no script errors on the page");
  console.log("panel: sellers, agents (preview, configure, restore, guide), doctor — ok");
} finally {
  await browser.close();
  server.kill("SIGTERM");
}
