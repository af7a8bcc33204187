// Run by tests/fault_access.rs: a page on another loopback origin (argv[1])
// tries to call TokenBuddy (argv[2]) with its token (argv[3]) in every way a
// page can; prints {call: outcome} as JSON. Outcomes: "rejected: <message>"
// (the browser blocked it) or "<response type> <status>".
import { chromium } from "playwright-core";

// The last three arguments (`node -e` and `node file` place them differently).
const [pageUrl, tb, token] = process.argv.slice(-3);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  const results = await page.evaluate(async ({ tb, token }) => {
    const chat = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] });
    const calls = {
      "GET /v1/models with the token": [`${tb}/v1/models`, { headers: { Authorization: `Bearer ${token}` } }],
      "POST /v1/chat/completions with the token": [`${tb}/v1/chat/completions`,
        { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: chat }],
      "POST /v1/messages with x-api-key": [`${tb}/v1/messages`,
        { method: "POST", headers: { "x-api-key": token, "Content-Type": "application/json" }, body: chat }],
      "POST /v1/chat/completions as text/plain": [`${tb}/v1/chat/completions`,
        { method: "POST", headers: { "Content-Type": "text/plain" }, body: chat }],
      "POST /v1/chat/completions no-cors": [`${tb}/v1/chat/completions`,
        { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: chat }],
      "PUT /api/routing with the token": [`${tb}/api/routing`,
        { method: "PUT", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ mode: "fixed", fixedSeller: "sim" }) }],
      "GET /api/sellers": [`${tb}/api/sellers`, {}],
    };
    const out = {};
    for (const [name, [url, init]] of Object.entries(calls)) {
      try {
        const resp = await fetch(url, init);
        out[name] = `${resp.type} ${resp.status}`;
      } catch (e) {
        out[name] = `rejected: ${e.message}`;
      }
    }
    return out;
  }, { tb, token });
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
