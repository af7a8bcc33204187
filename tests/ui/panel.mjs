// The control panel in headless Chromium (Debian's, driven by playwright-core)
// against a real `tokenbuddy serve --demo` in a temporary HOME and data dir,
// with a light client load of our own (the demo's built-in load, when the
// core has it, only adds to it):
// - Routing: scorer and mode changed in the UI, confirmed by /api/routing
//   and by the traffic moving to the fixed seller; the plan table shows.
// - Sellers: the live charts get points; the seller form (add → in
//   sellers.yaml with comments intact and no key, survives a restart; edit;
//   remove) when the core has the sellers API.
// - Pause/resume when the core has /api/proxy; /api/events when it has it.
// - Agents: Configure shows the diff first and writes only on Apply;
//   Restore likewise gives back the original bytes.
// - Requests: rows arrive and expand to their attempt trail.
// - Usage: a table, and a CSV export.
// - Another origin (a page on another 127.0.0.1 port, even holding the
//   token) reads nothing from /api, opens no /api/events, changes nothing.
// - First run (no sellers): how to add one or start the demo.
// - A screenshot of every view in light and dark, in $SCREENSHOTS (default
//   $CARGO_TARGET_DIR/ui-screenshots, else target/ui-screenshots).
// Parts that need endpoints this core lacks print why they were skipped.
//
// Usage: node tests/ui/panel.mjs <path to tokenbuddy binary>

import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const bin = process.argv[2];
if (!bin) throw new Error("usage: node tests/ui/panel.mjs <tokenbuddy binary>");
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = process.env.SCREENSHOTS
  ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "ui-screenshots");
// Every screenshot there is from this run: none left over from an older one.
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

const home = mkdtempSync(join(tmpdir(), "tb-ui-home-"));
const data = mkdtempSync(join(tmpdir(), "tb-ui-data-"));
const config = join(home, ".codex", "config.toml");
const original = '# my Codex settings\nmodel = "gpt-5"\n\n[history]\npersistence = "none"\n';
mkdirSync(dirname(config), { recursive: true });
writeFileSync(config, original);

const skipped = [];
const skip = (what, why) => {
  skipped.push(what);
  console.log(`panel: SKIPPED ${what}: ${why}`);
};

/** Starts `serve --demo` on `port` (0: any); resolves with its base URL, token and process. */
async function serve(port = 0, { demo = true, dataDir = data } = {}) {
  const child = spawn(bin, ["serve", ...(demo ? ["--demo"] : []), "--port", String(port)], {
    env: { HOME: home, TOKENBUDDY_DATA_DIR: dataDir, TOKENBUDDY_UI_DIR: join(root, "ui", "dist"), PATH: "/usr/bin:/bin" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("serve did not start within 30 s")), 30000);
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    lines.on("line", (line) => {
      const m = line.match(/^Control panel: (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const u = new URL(url);
  const token = new URLSearchParams(u.hash.slice(1)).get("token");
  return { child, panelUrl: url, base: u.origin, token };
}

/** Stops a server and waits for it to exit. */
async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

let srv = await serve();
const call = async (path, method = "GET", body) => {
  const resp = await fetch(srv.base + path, {
    method,
    headers: { Authorization: `Bearer ${srv.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await resp.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: resp.status, json, text };
};

// A light load: one streamed chat request at a time, labelled "demo".
let loading = true;
const load = (async () => {
  while (loading) {
    await fetch(`${srv.base}/v1/chat/completions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${srv.token}`, "Content-Type": "application/json", "x-tokenbuddy-agent": "demo" },
      body: JSON.stringify({ model: "demo-model", stream: true, messages: [{ role: "user", content: "hi" }] }),
    }).then((r) => r.text()).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 150));
  }
})();

/** Waits until `check()` is truthy (polling the API; a bounded hang guard, not a timing assertion). */
async function until(what, check, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = true;
try {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: "light", acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(srv.panelUrl);
  const tab = (name) => page.getByRole("tab", { name, exact: true }).click();

  // The token left the address bar.
  assert.ok(!page.url().includes("token="), "the token is removed from the address bar");

  // Overview: the three demo sellers are healthy.
  await page.locator("#fig-health .figure-value").filter({ hasText: "3 / 3" }).waitFor();

  // Live link: /api/events when the core has it, else the polling fallback.
  const events = await fetch(`${srv.base}/api/events`, { headers: { Authorization: `Bearer ${srv.token}` } });
  if (events.status === 404) {
    skip("live events", "this core has no /api/events (the panel polls /api/sellers and streams /api/requests/live); the panel's side of the contract is checked on a stand-in stream");
    await page.locator(".link-polling").waitFor();
    // The panel's side of /api/events on a stand-in (the contract's shapes,
    // from the real endpoints): snapshot, then a notice and a proxy change.
    const stand = await context.newPage();
    stand.on("pageerror", (e) => errors.push(String(e)));
    const [sellers, routingNow, store] = await Promise.all(["/api/sellers", "/api/routing", "/api/store"].map(async (p) => (await call(p)).json));
    const frame = (event, data) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    const body = ": keep-alive\n\n" + frame("snapshot", { sellers, routing: routingNow, proxy: { enabled: true }, store })
      + frame("notice", { atMs: Date.now(), kind: "circuitOpened", seller: "demo-flaky", message: "Demo Flaky's circuit opened after 5 failures in a row." })
      + frame("proxy", { enabled: false });
    let served = 0;
    await stand.route("**/api/events", (route) => {
      served++;
      assert.equal(route.request().headers().authorization, `Bearer ${srv.token}`, "the token travels in the header");
      return route.fulfill({ status: 200, headers: { "Content-Type": "text/event-stream" }, body });
    });
    // (The stand-in's body ends at once, so the link reads "retrying" between
    // reconnects; the live link itself is checked against the real stream.)
    await stand.goto(srv.panelUrl);
    await stand.locator("#notices li").filter({ hasText: "circuit opened after 5 failures" }).waitFor();
    await stand.locator('#fig-proxy button[role=switch][aria-checked="false"]').filter({ hasText: "Paused" }).waitFor();
    await until("a reconnect after the stand-in stream ended", async () => served >= 2);
    assert.equal(await stand.locator("#notices li").filter({ hasText: "circuit opened" }).count(), 1, "a resync shows a notice once");
    assert.ok(!stand.url().includes("token="), "no token in the URL");
    await stand.close();
  } else {
    await events.body?.cancel();
    await page.locator(".link-live").waitFor();
  }

  // Routing: scorer and mode from the UI, confirmed by the API and the traffic.
  await tab("Routing");
  await page.locator("#scorer").getByLabel(/^Speed/).check();
  await until("scorer speed", async () => (await call("/api/routing")).json?.scorer === "speed");
  await page.locator("#mode").getByLabel(/^Fixed seller/).check();
  await page.locator("#mode select").selectOption("demo-fast");
  const routing = await until("mode fixed on demo-fast", async () => {
    const r = (await call("/api/routing")).json;
    return r?.mode === "fixed" && r.fixedSeller === "demo-fast" ? r : null;
  });
  assert.equal(routing.scorer, "speed");
  const mark = (await call("/api/requests?limit=1")).json.requests[0]?.id ?? 0;
  await until("the traffic on demo-fast", async () => {
    const rows = (await call("/api/requests?limit=5")).json.requests.filter((r) => r.id > mark + 1);
    return rows.length > 0 && rows.every((r) => r.seller === "demo-fast");
  });
  // The plan for the load's model (the demo sellers accept any model).
  await page.locator(".plan-query input").fill("demo-model");
  await page.locator("#plan tbody tr").first().waitFor();
  assert.match(await page.locator("#plan tbody tr").first().textContent(), /demo-fast/);
  // Fixed on demo-flaky (it fails every fourth request), failover allowed:
  // a request fails over, for the request log's trail below.
  await page.locator("#mode select").selectOption("demo-flaky");
  assert.ok(await page.locator("#mode").getByLabel(/May fail over/).isChecked());
  await until("mode fixed on demo-flaky", async () => (await call("/api/routing")).json?.fixedSeller === "demo-flaky");
  await until("a failed-over request", async () =>
    (await call("/api/requests?limit=20")).json.requests.some((r) => r.attempts.length > 1));
  await page.locator("#mode").getByLabel(/^Fully automatic/).check();
  await page.locator("#scorer").getByLabel(/^Balanced/).check();
  await until("routing back to fullAuto/balanced", async () => {
    const r = (await call("/api/routing")).json;
    return r?.mode === "fullAuto" && r.scorer === "balanced";
  });

  // Sellers: three rows, and the live charts get points.
  await tab("Sellers");
  await page.locator("#sellers tbody tr[data-seller]").nth(2).waitFor();
  assert.equal(await page.locator("#sellers tbody tr[data-seller]").count(), 3);
  const points = () => page.evaluate(() => [...document.querySelectorAll(".seller-detail .chart")]
    .reduce((n, c) => n + (c.querySelector("canvas") ? Number(c.getAttribute("data-points")) : 0), 0));
  await page.waitForFunction(() => [...document.querySelectorAll(".seller-detail .chart")]
    .some((c) => Number(c.getAttribute("data-points")) >= 2 && c.querySelector("canvas")));
  const seen = await points();
  await until("the charts to move (new points while the page is open)", async () => (await points()) > seen);

  // The seller form, when the core can write sellers.
  const sellersApi = await call("/api/sellers/ui-probe-none", "DELETE");
  if (sellersApi.status === 405 || (sellersApi.status === 404 && sellersApi.json?.error?.code === "not_found" && /no endpoint/.test(sellersApi.text))) {
    skip("seller form (add, edit, remove, restart)", `this core has no sellers API (DELETE /api/sellers/{id} answered ${sellersApi.status})`);
    // The form still opens, and says why it cannot save instead of failing silently.
    await page.locator("#add-seller").click();
    const form = page.locator("#seller-form");
    await form.locator('input[name="id"]').fill("panel-added");
    await form.locator('input[name="baseUrl"]').fill("http://127.0.0.1:9/v1");
    await form.getByRole("button", { name: "Add seller" }).click();
    await form.locator(".problem").filter({ hasText: "needs a newer TokenBuddy" }).waitFor();
    await page.screenshot({ path: join(shots, "sellers-form-light.png"), fullPage: true });
    await form.getByRole("button", { name: "Cancel" }).click();
  } else {
    const file = join(data, "sellers.yaml");
    const header = "# my sellers — keep this comment\nsellers: []\n";
    if (!existsSync(file)) writeFileSync(file, header);
    const before = readFileSync(file, "utf8");
    await page.locator("#add-seller").click();
    const form = page.locator("#seller-form");
    await form.locator('input[name="id"]').fill("panel-added");
    await form.locator('input[name="baseUrl"]').fill("http://127.0.0.1:9/v1");
    await form.locator('input[name="apiKey"]').fill("sk-panel-secret-123");
    await page.screenshot({ path: join(shots, "sellers-form-light.png"), fullPage: true });
    await form.getByRole("button", { name: "Add seller" }).click();
    await page.locator('#sellers tr[data-seller="panel-added"]').waitFor();
    const written = readFileSync(file, "utf8");
    assert.match(written, /panel-added/);
    assert.ok(!written.includes("sk-panel-secret-123"), "the key is not in sellers.yaml");
    for (const line of before.split("\n").filter((l) => l.trim().startsWith("#"))) {
      assert.ok(written.includes(line), `the comment ${JSON.stringify(line)} stays`);
    }
    // A restart keeps it.
    await stop(srv.child);
    srv = await serve();
    await page.goto(srv.panelUrl);
    await tab("Sellers");
    await page.locator('#sellers tr[data-seller="panel-added"]').waitFor();
    // Edit, then remove.
    await page.getByRole("button", { name: "Edit panel-added" }).click();
    await page.locator('#seller-form input[name="name"]').fill("Panel Edited");
    await page.locator("#seller-form").getByRole("button", { name: "Save" }).click();
    await page.locator('#sellers tr[data-seller="panel-added"]').filter({ hasText: "Panel Edited" }).waitFor();
    assert.match(readFileSync(file, "utf8"), /Panel Edited/);
    await page.getByRole("button", { name: "Edit Panel Edited" }).click();
    await page.locator("#seller-form").getByRole("button", { name: "Remove…" }).click();
    await page.locator("#seller-form").getByRole("button", { name: "Yes, remove" }).click();
    await page.locator('#sellers tr[data-seller="panel-added"]').waitFor({ state: "detached" });
    assert.ok(!readFileSync(file, "utf8").includes("panel-added"));
  }

  // Pause and resume, when the core has the switch.
  if ((await call("/api/proxy")).status === 404) {
    skip("pause/resume", "this core has no /api/proxy");
  } else {
    await tab("Overview");
    const sw = page.locator("#fig-proxy button[role=switch]");
    await sw.click();
    await until("paused", async () => (await call("/api/proxy")).json?.enabled === false);
    const refused = await fetch(`${srv.base}/v1/chat/completions`, {
      method: "POST", headers: { Authorization: `Bearer ${srv.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ model: "demo-model", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(refused.status, 503);
    assert.match(await refused.text(), /paused/);
    await sw.click();
    await until("resumed", async () => (await call("/api/proxy")).json?.enabled === true);
  }

  // Agents: Configure shows the diff and writes only on Apply; Restore likewise.
  await tab("Agents");
  const codex = page.locator('#agents tr[data-agent="codex"]');
  await codex.waitFor();
  assert.equal(await codex.locator(".agent-state").textContent(), "not configured");
  await codex.locator("input").fill("panel-model");
  await codex.getByRole("button", { name: "Configure…" }).click();
  await page.locator("#agent-diff pre.diff").waitFor();
  const diff = await page.locator("#agent-diff pre.diff").textContent();
  assert.match(diff, /\+model_provider = "tokenbuddy"/);
  assert.match(diff, /\+model = "panel-model"/);
  assert.equal(readFileSync(config, "utf8"), original, "the diff alone writes nothing");
  await page.screenshot({ path: join(shots, "agents-diff-light.png"), fullPage: true });
  await page.locator("#agent-diff").getByRole("button", { name: "Apply" }).click();
  await codex.locator(".agent-state").filter({ hasText: /^configured$/ }).waitFor();
  const configured = readFileSync(config, "utf8");
  assert.match(configured, /model_provider = "tokenbuddy"/);
  assert.match(configured, /model = "panel-model"/);
  assert.ok(configured.startsWith("# my Codex settings\n"), "the user's comment stays");
  await codex.getByRole("button", { name: "Restore…" }).click();
  await page.locator("#agent-diff pre.diff").waitFor();
  assert.match(await page.locator("#agent-diff pre.diff").textContent(), /-model_provider = "tokenbuddy"/);
  assert.equal(readFileSync(config, "utf8"), configured, "the restore diff alone writes nothing");
  await page.locator("#agent-diff").getByRole("button", { name: "Apply" }).click();
  await codex.locator(".agent-state").filter({ hasText: /^not configured$/ }).waitFor();
  assert.equal(readFileSync(config, "utf8"), original, "Restore gives back the original bytes");
  // A guide-only agent explains itself; the doctor runs.
  const cursor = page.locator('#agents tr[data-agent="cursor"]');
  await cursor.locator("summary").click();
  assert.match(await cursor.locator("details p").textContent(), /127\.0\.0\.1/);
  await page.getByRole("button", { name: "Run checks" }).click();
  await page.locator("#doctor li.check").first().waitFor();
  assert.ok((await page.locator("#doctor li.check").count()) >= 3);

  // Requests: live rows, newest first, expanding to the attempt trail.
  await tab("Requests");
  await page.locator("#requests tbody tr[data-request]").nth(2).waitFor();
  const ids = await page.locator("#requests tbody tr[data-request]").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-request"))));
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), "newest first");
  // The flaky demo seller's failovers (the seller form's short-lived test
  // seller, which nothing answers for, makes failovers of its own).
  const failover = (await call("/api/requests?limit=500")).json.requests
    .find((r) => r.attempts.length > 1 && r.attempts[0].seller === "demo-flaky");
  assert.ok(failover, "the run has a request failed over from demo-flaky");
  await page.locator('select[name="status"]').selectOption("failover");
  await page.locator(`#requests tr[data-request="${failover.id}"]`).getByRole("button").click();
  const trail = page.locator(`#requests tr.trail[data-trail="${failover.id}"] ol.attempts li`);
  await trail.nth(1).waitFor();
  assert.equal(await trail.count(), failover.attempts.length, "a failed-over request shows every attempt");
  assert.match(await trail.first().textContent(), /demo-flaky/);
  assert.match(await trail.first().textContent(), /503/);
  await page.locator('select[name="status"]').selectOption("");
  await page.locator('select[name="agent"]').selectOption("demo");
  assert.ok((await page.locator("#requests tbody tr[data-request]").count()) > 0);

  // Usage: a table and a CSV export.
  await tab("Usage");
  await page.locator("#usage tbody tr th").first().waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#usage-csv").click()]);
  const csv = readFileSync(await download.path(), "utf8");
  assert.match(csv, /^day,requests,errors,/);
  await page.getByRole("button", { name: "by seller" }).click();
  await page.locator("#usage tbody tr th").filter({ hasText: /^demo-/ }).first().waitFor();

  // Keyboard: the tabs move with the arrow keys.
  await page.getByRole("tab", { name: "Usage" }).focus();
  await page.keyboard.press("ArrowLeft");
  assert.equal(await page.getByRole("tab", { name: "Requests" }).getAttribute("aria-selected"), "true");

  // Screenshots of every view, light and dark.
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const view of ["Overview", "Routing", "Sellers", "Agents", "Requests", "Usage"]) {
      await tab(view);
      if (view === "Sellers") await page.locator(".seller-detail canvas").first().waitFor();
      if (view === "Routing") await page.locator("#plan tbody tr").first().waitFor();
      if (view === "Agents") await page.locator('#agents tr[data-agent="codex"]').waitFor();
      if (view === "Usage") await page.locator("#usage tbody tr th").first().waitFor();
      if (view === "Requests") {
        const first = page.locator("#requests tbody tr[data-request]").first();
        await page.locator('select[name="status"]').selectOption("failover");
        if ((await page.locator("#requests tr.trail").count()) === 0) await first.getByRole("button").click();
      }
      await page.screenshot({ path: join(shots, `${view.toLowerCase()}-${scheme}.png`), fullPage: true });
    }
  }

  // Another origin (a page from another 127.0.0.1 port) cannot read /api,
  // open /api/events or change settings — even knowing the token.
  const evil = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>other origin</title>");
  });
  await new Promise((r) => evil.listen(0, "127.0.0.1", r));
  try {
    const before = (await call("/api/routing")).json;
    await page.goto(`http://127.0.0.1:${evil.address().port}/`);
    const results = await page.evaluate(async ({ base, token }) => {
      const out = {};
      const tryFetch = async (name, init) => {
        try {
          const r = await fetch(`${base}${name.split(" ")[1]}`, init);
          out[name] = r.type === "opaque" ? "opaque" : `read ${r.status}`;
        } catch (e) {
          out[name] = "blocked";
        }
      };
      await tryFetch("GET /api/sellers", { headers: { Authorization: `Bearer ${token}` } });
      await tryFetch("GET /api/sellers?plain", {});
      await tryFetch("PUT /api/routing", { method: "PUT", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ mode: "fixed", scorer: "discount", fixedSeller: "demo-flaky", fixedSet: [], fixedFailover: false }) });
      await tryFetch("POST /api/agents/codex/configure", { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: "{}" });
      out["EventSource /api/events"] = await new Promise((resolve) => {
        const es = new EventSource(`${base}/api/events`);
        es.onopen = () => { es.close(); resolve("opened"); };
        es.onerror = () => { es.close(); resolve("blocked"); };
      });
      return out;
    }, { base: srv.base, token: srv.token });
    assert.deepEqual(results, {
      "GET /api/sellers": "blocked", "GET /api/sellers?plain": "blocked", "PUT /api/routing": "blocked",
      "POST /api/agents/codex/configure": "opaque", "EventSource /api/events": "blocked",
    }, "another origin reads nothing");
    assert.deepEqual((await call("/api/routing")).json, before, "another origin changed no setting");
    assert.equal(readFileSync(config, "utf8"), original, "another origin configured no agent");
    const refused = await fetch(`${srv.base}/api/sellers`, { headers: { Authorization: `Bearer ${srv.token}`, Origin: `http://127.0.0.1:${evil.address().port}` } });
    assert.equal(refused.status, 403, "the core refuses a foreign Origin outright");
  } finally {
    evil.close();
  }

  // A wrong token is called that, not "retrying".
  await page.goto(`${srv.base}/#token=${"0".repeat(64)}`);
  await page.locator(".banner").filter({ hasText: "refused this page's access token" }).waitFor();

  // First run: no sellers → how to add one or start the demo.
  const empty = await serve(0, { demo: false, dataDir: mkdtempSync(join(tmpdir(), "tb-ui-empty-")) });
  try {
    await page.emulateMedia({ colorScheme: "light" });
    await page.goto(empty.panelUrl);
    await page.locator("#first-run").waitFor();
    assert.match(await page.locator("#first-run").textContent(), /--demo/);
    await page.screenshot({ path: join(shots, "overview-first-run-light.png"), fullPage: true });
  } finally {
    await stop(empty.child);
  }

  assert.deepEqual(errors, [], "no script errors on the page");
  failed = false;
  console.log(`panel: routing, sellers and charts, agents (diff, configure, restore), requests, usage, cross-origin refused, first run — ok${skipped.length ? `; skipped: ${skipped.join("; ")}` : ""}; screenshots in ${shots}`);
} catch (e) {
  for (const p of browser.contexts().flatMap((c) => c.pages())) {
    await p.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => undefined);
  }
  console.log(`panel: failed; the page at that moment is in ${join(shots, "failure.png")}`);
  throw e;
} finally {
  loading = false;
  await browser.close();
  await stop(srv.child);
  await load;
  if (failed) process.exitCode = 1;
}
