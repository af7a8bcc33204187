// Run by tests/cross_origin.rs: a page at argv[1] calls TokenBuddy (argv[2])
// with its token (argv[3]) the ways a panel would: read /api data, open
// /api/events (EventSource and a streamed fetch), change the routing.
// Prints {call: outcome} as JSON. Outcomes: "rejected: <message>" (the
// browser blocked it), "<response type> <status>[ <first event>]", and for
// EventSource "open" or "error".
import { chromium } from "playwright-core";

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
    const auth = { Authorization: `Bearer ${token}` };
    const routing = JSON.stringify({ mode: "fullAuto", scorer: "speed" });
    const calls = {
      "GET /api/sellers with the token": [`${tb}/api/sellers`, { headers: auth }],
      "GET /api/sellers": [`${tb}/api/sellers`, {}],
      "GET /api/notices with the token": [`${tb}/api/notices`, { headers: auth }],
      "GET /api/routing with the token": [`${tb}/api/routing`, { headers: auth }],
      "GET /api/events with the token": [`${tb}/api/events`, { headers: auth }],
      "GET /api/events": [`${tb}/api/events`, {}],
      "PUT /api/routing with the token": [`${tb}/api/routing`,
        { method: "PUT", headers: { ...auth, "Content-Type": "application/json" }, body: routing }],
      "PUT /api/routing as text/plain": [`${tb}/api/routing`,
        { method: "PUT", headers: { "Content-Type": "text/plain" }, body: routing }],
      "POST /api/routing no-cors": [`${tb}/api/routing`,
        { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: routing }],
    };
    const out = {};
    for (const [name, [url, init]] of Object.entries(calls)) {
      try {
        const resp = await fetch(url, init);
        let first = "";
        if (resp.type !== "opaque" && resp.headers.get("content-type")?.startsWith("text/event-stream")) {
          // The first event, then hang up.
          const reader = resp.body.getReader();
          const { value } = await reader.read();
          first = " " + (new TextDecoder().decode(value).match(/^event: (\w+)/m)?.[1] ?? "?");
          await reader.cancel();
        }
        out[name] = `${resp.type} ${resp.status}${first}`;
      } catch (e) {
        out[name] = `rejected: ${e.message}`;
      }
    }
    // EventSource sends no token: even our own page is refused (401), and
    // another origin's page must be too.
    out["EventSource /api/events"] = await new Promise((resolve) => {
      const es = new EventSource(`${tb}/api/events`);
      const done = (v) => { es.close(); resolve(v); };
      es.onopen = () => done("open");
      es.onerror = () => done("error");
      setTimeout(() => done("timeout"), 10000);
    });
    return out;
  }, { tb, token });
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
