// Drives the status page in headless Chromium (playwright-core, the system browser).
// Usage: node status_page.cjs <base-url> <artifact-dir> <requeue-id>
// Exits non-zero with a message on the first failed check.
"use strict";
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const [base, artifacts, requeueId] = process.argv.slice(2);
const fail = (message) => { console.error("status page check failed: " + message); process.exit(1); };

async function apiStatus(query = "") {
  const response = await fetch(base + "/sync/status" + query);
  return response.json();
}

async function counts(page) {
  const read = async (id) => Number(await page.textContent("#" + id));
  return { pending: await read("pending"), synced: await read("synced"), failed: await read("failed") };
}

async function until(what, check, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  fail("timed out waiting for " + what);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    let dialogs = 0;
    page.on("dialog", async (dialog) => { dialogs += 1; await dialog.dismiss(); });
    await page.goto(base + "/");
    await page.waitForSelector("body[data-loaded=true]", { timeout: 10000 });

    // The counts on the page are the API's.
    const api = await apiStatus();
    const shown = await counts(page);
    if (JSON.stringify(shown) !== JSON.stringify(api.counts)) {
      fail(`page shows ${JSON.stringify(shown)}, API says ${JSON.stringify(api.counts)}`);
    }
    if ((await page.textContent("#online")) !== (api.online ? "online" : "offline")) fail("online badge");
    if (api.counts.pending === 0 || api.counts.failed === 0) fail("the test needs PENDING and FAILED changes to start with");

    // Values are text, never markup: a table name holding a script tag shows as text.
    const failedText = await page.textContent("#failed-list");
    if (!failedText.includes("<script>alert(1)</script>")) fail("the hostile value is not shown as text");
    if ((await page.$$("#failed-list script")).length !== 0 || dialogs !== 0) fail("a value was run as markup");
    await page.screenshot({ path: `${artifacts}/status-page.png`, fullPage: true });

    // Sync now: PENDING reaches 0 on the page.
    await page.click("#sync-now");
    await until("PENDING to reach 0 on the page", async () => (await counts(page)).pending === 0);
    const afterSync = await apiStatus();
    if (afterSync.last_run === null) fail("no run recorded after Sync now");

    // Requeue a FAILED change from the page.
    const failedBefore = (await counts(page)).failed;
    await page.click(`button.requeue[data-id="${requeueId}"]`);
    await until("the requeued change to leave FAILED", async () => (await counts(page)).failed === failedBefore - 1);
    const stillFailed = await apiStatus("?status=FAILED&limit=500");
    if (stillFailed.entries.items.some((e) => String(e.id) === String(requeueId))) fail("the change is still FAILED in the API");
    await page.screenshot({ path: `${artifacts}/status-page-after.png`, fullPage: true });

    // Readable on a phone.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await phone.goto(base + "/");
    await phone.waitForSelector("body[data-loaded=true]", { timeout: 10000 });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) fail(`the page is ${overflow}px wider than a phone screen`);
    await phone.screenshot({ path: `${artifacts}/status-page-phone.png`, fullPage: true });
    console.log(JSON.stringify({ ok: true, before: shown, after: await counts(page) }));
  } finally {
    await browser.close();
  }
})().catch((error) => fail(error.stack || String(error)));
