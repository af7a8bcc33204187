// The control panel open in headless Chromium for a while, measuring the
// main thread: long tasks (> 50 ms, PerformanceObserver) and their total.
// Prints one JSON line. Used by benches/panel.rs.
//
// Usage: node benches/panel_page.mjs <panel URL with #token=> <seconds>

import { chromium } from "playwright-core";

const [url, seconds] = [process.argv[2], Number(process.argv[3] ?? 30)];
if (!url) throw new Error("usage: node benches/panel_page.mjs <panel url> <seconds>");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: "longtask", buffered: true });
  });
  await page.goto(url);
  await page.waitForLoadState("load");
  // Look at the sellers view if there is one: its charts are the heaviest.
  const sellersTab = page.getByRole("tab", { name: /sellers/i }).or(page.getByRole("link", { name: /sellers/i }));
  if (await sellersTab.count()) await sellersTab.first().click();
  const before = await page.evaluate(() => window.__longTasks.length);
  await page.waitForTimeout(seconds * 1000);
  const tasks = await page.evaluate(() => window.__longTasks);
  const during = tasks.slice(before);
  const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? null);
  console.log(JSON.stringify({
    seconds,
    longTasks: during.length,
    longTasksPerMinute: (during.length * 60) / seconds,
    longTaskMs: during.reduce((a, b) => a + b, 0),
    worstMs: during.length ? Math.max(...during) : 0,
    heapBytes: heap,
  }));
} finally {
  await browser.close();
}
