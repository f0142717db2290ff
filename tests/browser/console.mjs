// Opens the agent console, picks the live call from the list, marks the
// first suggestion used, waits for the summary, and prints what the agent
// saw as JSON. Usage: node console.mjs CONSOLE_URL CALL_ID SCREENSHOT.png
import { chromium } from "playwright-core";

const [url, callId, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  // Pick the call from the live list (refreshed every 2 s).
  await page.click(`[data-call="${callId}"]`, { timeout: 20000 });
  // Use the first suggestion as soon as it shows.
  const first = page.locator('[data-testid="card"]').last();
  await first.waitFor({ timeout: 20000 });
  const used = await first.getAttribute("data-suggestion");
  await first.locator('[data-testid="use"]').click();
  await page.waitForSelector(`[data-suggestion="${used}"].used`, { timeout: 10000 });
  // The call ends: its summary shows.
  await page.waitForSelector('[data-testid="summary"]:not([hidden])', { timeout: 60000 });
  const cards = await page.$$eval('[data-testid="card"]', (nodes) => nodes.map((n) => ({
    id: n.dataset.suggestion, kind: Number(n.dataset.kind), text: n.querySelector(".text").textContent,
    rationale: n.title, retracted: n.classList.contains("retracted"),
  })).reverse());
  const transcript = await page.$$eval("#transcript li", (nodes) => nodes.map((n) => n.textContent));
  const chips = await page.$$eval(".chip", (nodes) => nodes.map((n) => n.textContent));
  const alerts = await page.$$eval('[data-testid="alert"]', (nodes) => nodes.map((n) => n.textContent));
  const summary = await page.textContent('[data-testid="summary-text"]');
  // The bilingual UI: switch to English.
  await page.click('[data-testid="lang"]');
  const heading = await page.textContent("h1");
  await page.click('[data-testid="lang"]');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ used, cards, transcript, chips, alerts, summary, heading, errors }));
} finally {
  await browser.close();
}
