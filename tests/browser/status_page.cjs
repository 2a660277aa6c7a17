// Drives the status page in headless Chromium (playwright-core, the system browser).
// Usage: node status_page.cjs <base-url> <artifact-dir> <failed-id> <waiting-id>
//   failed-id:  a FAILED change (requeued from the page)
//   waiting-id: a PENDING change backing off after a unique-key clash with db_b's user
//               id 999 over dup@x.io (made due now with "Retry now")
// Exits non-zero with a message on the first failed check.
"use strict";
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const [base, artifacts, requeueId, waitingId] = process.argv.slice(2);
const fail = (message) => { console.error("status page check failed: " + message); process.exit(1); };

// The pages run in fixed zones without daylight saving time, so the expected local times
// are known here: the desktop in São Paulo (UTC-3), the phone in India (UTC+5:30).
const DESKTOP_ZONE = { id: "America/Sao_Paulo", minutes: -180, label: "UTC-3" };
const PHONE_ZONE = { id: "Asia/Kolkata", minutes: 330, label: "UTC+5:30" };

// An RFC 3339 instant as the page must show it in `zone`.
function localStamp(iso, zone) {
  const shifted = new Date(new Date(iso).getTime() + zone.minutes * 60000).toISOString();
  return `${shifted.slice(0, 10)} ${shifted.slice(11, 19)} ${zone.label}`;
}

async function apiGet(path) {
  const response = await fetch(base + path);
  return response.json();
}
const apiStatus = (query = "") => apiGet("/sync/status" + query);

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

// Every <time> on the page is local time with the zone, and there are some.
async function checkTimes(page, zone, where) {
  const times = await page.$$eval("time", (els) => els.map((e) => e.textContent));
  if (times.length < 3) fail(`${where}: only ${times.length} times shown`);
  const pattern = new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${zone.label.replace("+", "\\+")}$`);
  const bad = times.filter((t) => !pattern.test(t));
  if (bad.length) fail(`${where}: times without the zone ${zone.label}: ${JSON.stringify(bad)}`);
  return times;
}

// The chart: x axis with local clock labels inside the last hour, y axis with counts.
async function checkChart(page, zone, maxCount, where) {
  const chart = await page.evaluate(() => ({
    x: [...document.querySelectorAll("#chart .x-axis text")].map((e) => e.textContent),
    y: [...document.querySelectorAll("#chart .y-axis text")].map((e) => e.textContent),
    pending: document.querySelector("#chart path.series-pending")?.getAttribute("d") || "",
    failed: document.querySelector("#chart path.series-failed")?.getAttribute("d") || "",
    legend: document.querySelector(".legend")?.textContent || "",
    box: document.querySelector("#chart").getBoundingClientRect().toJSON(),
  }));
  if (chart.x.length < 2) fail(`${where}: the chart's x axis has ${chart.x.length} time labels`);
  const nowMinute = Math.floor((Date.now() / 60000 + zone.minutes) % 1440);
  for (const label of chart.x) {
    const match = /^(\d\d):(\d\d)$/.exec(label);
    if (!match) fail(`${where}: x label ${JSON.stringify(label)} is not a clock time`);
    const minute = Number(match[1]) * 60 + Number(match[2]);
    const ago = (nowMinute - minute + 1440) % 1440;
    if (ago > 61) fail(`${where}: x label ${label} is not within the last hour of local time (${zone.id})`);
  }
  const ys = chart.y.map(Number);
  if (ys.length < 2 || ys.some((n) => !Number.isInteger(n)) || ys[0] !== 0) fail(`${where}: y labels ${JSON.stringify(chart.y)}`);
  if (Math.max(...ys) < maxCount) fail(`${where}: y axis tops at ${Math.max(...ys)}, below ${maxCount}`);
  if (!chart.pending || !chart.failed) fail(`${where}: a line is missing (pending ${chart.pending}, failed ${chart.failed})`);
  if (!/Pending/.test(chart.legend) || !/Failed/.test(chart.legend)) fail(`${where}: legend ${chart.legend}`);
  if (chart.box.height < 100) fail(`${where}: the chart is ${chart.box.height}px high`);
}

// The row of the waiting list for `id`.
async function waitingRow(page, id) {
  return page.$(`#waiting-list tr[data-id="${id}"]`);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: DESKTOP_ZONE.id, locale: "en-US" });
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
    const badge = { reachable: "online", unknown: "online", unreachable: "db_b unreachable", not_tried: "offline" }[api.central];
    if (!badge || (await page.textContent("#online")) !== badge) fail(`online badge for central=${api.central}`);
    if (api.counts.pending === 0 || api.counts.failed === 0) fail("the test needs PENDING and FAILED changes to start with");
    if (api.waiting < 1 || !api.last_run || !api.last_run_with_rejections) fail("the test needs a waiting change and a run that rejected changes");
    if (!(await page.textContent("#pending-sub")).includes(`${api.waiting} waiting`)) fail("the waiting count is not shown");

    // Values are text, never markup: a table name holding a script tag shows as text.
    const failedText = await page.textContent("#failed-list");
    if (!failedText.includes("<script>alert(1)</script>")) fail("the hostile value is not shown as text");
    if ((await page.$$("#failed-list script")).length !== 0 || dialogs !== 0) fail("a value was run as markup");

    // Times: local, with the zone; the last run's start exactly so.
    await checkTimes(page, DESKTOP_ZONE, "desktop");
    const lastRunText = await page.textContent("#last-run");
    const started = localStamp(api.last_run.started_at, DESKTOP_ZONE);
    if (!lastRunText.includes(started)) fail(`last run shows ${JSON.stringify(lastRunText)}, expected the start ${started}`);
    if (!lastRunText.includes(`#${api.last_run.id}`)) fail("last run id");
    if (api.last_run.message && !(await page.textContent("#last-run-message")).includes(api.last_run.message)) fail("the run's message is not shown");
    const oldest = await page.textContent("#oldest");
    if (!/Oldest pending change: (just captured|\d+ (s|min|h)( \d+ min)? old)\./.test(oldest)) fail(`oldest pending: ${JSON.stringify(oldest)}`);
    // The only run so far is also the last one that rejected changes: no second line.
    if (api.last_run.id === api.last_run_with_rejections.id && await page.isVisible("#last-rejections")) fail("the rejections line repeats the last run");
    if (await page.isVisible("#load-section")) fail("load progress shown with no load running");

    // The chart.
    await checkChart(page, DESKTOP_ZONE, Math.max(api.counts.pending, api.counts.failed), "desktop");

    // The waiting change: its clash (value and db_b row), when it is retried, a button.
    const row = await waitingRow(page, waitingId);
    if (!row) fail(`change ${waitingId} is not in the waiting list: ${await page.textContent("#waiting-list")}`);
    const rowText = await row.textContent();
    if (!rowText.includes("dup@x.io") || !rowText.includes("id=999")) fail(`the waiting change's error does not name the clash: ${rowText}`);
    const entry = (await apiStatus("?status=PENDING&limit=500")).entries.items.find((e) => String(e.id) === String(waitingId));
    if (!entry || !entry.next_attempt_at || new Date(entry.next_attempt_at) <= new Date()) fail("the API does not show the change waiting");
    if (!rowText.includes(localStamp(entry.next_attempt_at, DESKTOP_ZONE))) fail(`the next try is not shown: ${rowText}`);
    if (!/in (59|60) min|in 1 h/.test(rowText)) fail(`the next try is not shown as an hour away: ${rowText}`);
    if (!(await page.isVisible("#retry-all"))) fail("no Retry all now button");
    await page.screenshot({ path: `${artifacts}/status-page.png`, fullPage: true });

    // Readable on a phone, in another zone, with an initial load in progress (the load
    // rows are added to the API's answer: a real load would run with the next sync).
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, timezoneId: PHONE_ZONE.id, locale: "en-IN" });
    await phone.route(/\/sync\/status\?limit=1$/, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      const at = new Date(Date.now() - 300000).toISOString();
      body.load = [
        { table_name: "users", rows_checked: 1000, rows_copied: 1000, rows_removed: 0, rows_estimate: 1000, started_at: at, updated_at: at, finished_at: at },
        // Progress is the rows read: into a db_b that held most rows, few are written.
        { table_name: "orders", rows_checked: 12500, rows_copied: 400, rows_removed: 3, rows_estimate: 50000, started_at: at, updated_at: at, finished_at: null },
      ];
      await route.fulfill({ response, json: body });
    });
    await phone.goto(base + "/");
    await phone.waitForSelector("body[data-loaded=true]", { timeout: 10000 });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) fail(`the page is ${overflow}px wider than a phone screen`);
    const tooWide = await phone.evaluate(() => [...document.querySelectorAll("td, p, h1, h2, button, svg, progress")]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).map((e) => e.outerHTML.slice(0, 80)));
    if (tooWide.length) fail(`elements stick out of the phone screen: ${tooWide.join(" | ")}`);
    const errCell = await phone.$(`#waiting-list tr[data-id="${waitingId}"] td.err`);
    const errBox = errCell && await errCell.boundingBox();
    if (!errBox || errBox.height < 30) fail("the long error text does not wrap on a phone");
    await checkTimes(phone, PHONE_ZONE, "phone");
    await checkChart(phone, PHONE_ZONE, Math.max(api.counts.pending, api.counts.failed), "phone");
    const loads = await phone.$$eval("#load-list [data-table]", (els) => els.map((e) => ({
      table: e.dataset.table, text: e.textContent, value: e.querySelector("progress").value, max: e.querySelector("progress").max })));
    if (!(await phone.isVisible("#load-section")) || loads.length !== 1 || loads[0].table !== "orders"
        || loads[0].value !== 12500 || loads[0].max !== 50000 || !loads[0].text.includes("25%")
        || !loads[0].text.includes("400 rows written")) {
      fail(`load progress: ${JSON.stringify(loads)}`);
    }
    await phone.screenshot({ path: `${artifacts}/status-page-phone.png`, fullPage: true });
    await phone.close();

    // The chart over a full hour (a made-up history: the server has only just started), and
    // with no samples at all.
    const history = await browser.newPage({ viewport: { width: 1000, height: 800 }, timezoneId: DESKTOP_ZONE.id, locale: "en-US" });
    let samples = [];
    for (let i = 119; i >= 0; i -= 1) {
      samples.push({
        at: new Date(Date.now() - i * 30000 - 5000).toISOString(),
        pending: Math.round(18 + 16 * Math.sin(i / 14)),
        failed: i < 40 ? 2 : 0,
      });
    }
    await history.route("**/sync/history", (route) => route.fulfill({ json: { samples } }));
    await history.goto(base + "/");
    await history.waitForSelector("body[data-loaded=true]", { timeout: 10000 });
    await checkChart(history, DESKTOP_ZONE, 34, "an hour of samples");
    const hour = await history.evaluate(() => ({
      y: [...document.querySelectorAll("#chart .y-axis text")].map((e) => e.textContent),
      steps: (document.querySelector("#chart path.series-pending").getAttribute("d").match(/H/g) || []).length,
      note: document.querySelector("#chart-note").textContent,
    }));
    if (JSON.stringify(hour.y) !== JSON.stringify(["0", "20", "40"])) fail(`y labels for a maximum of 34: ${JSON.stringify(hour.y)}`);
    if (hour.steps < 100) fail(`the pending line has ${hour.steps} steps for 120 samples`);
    if (!hour.note.includes("120 samples")) fail(`chart note: ${hour.note}`);
    await history.locator("#chart-box").screenshot({ path: `${artifacts}/status-page-chart.png` });
    samples = [];
    await history.reload();
    await history.waitForSelector("body[data-loaded=true]", { timeout: 10000 });
    const empty = await history.evaluate(() => ({
      text: document.querySelector("#chart").textContent,
      x: document.querySelectorAll("#chart .x-axis text").length,
    }));
    if (!empty.text.includes("No samples yet") || empty.x < 2) fail(`chart without samples: ${JSON.stringify(empty)}`);
    await history.close();

    // An API error shows its message.
    await page.route("**/sync/retry", (route) => route.fulfill({
      status: 409, contentType: "application/json",
      json: { error: { code: "conflict", message: "test: the retry was refused" } },
    }));
    await page.click("#retry-all");
    await until("the API error message on the page", async () => (await page.textContent("#notice")).includes("test: the retry was refused"));
    await page.unroute("**/sync/retry");

    // Sync now: the due PENDING changes go; the waiting one stays.
    await page.click("#sync-now");
    await until("PENDING to come down to the waiting change on the page", async () => (await counts(page)).pending === api.waiting);
    const afterSync = await apiStatus();
    if (afterSync.last_run === null || afterSync.last_run.id === api.last_run.id) fail("no run recorded after Sync now");
    if (afterSync.counts.pending !== afterSync.waiting) fail(`after Sync now: ${JSON.stringify(afterSync.counts)}, ${afterSync.waiting} waiting`);

    // The run that rejected changes is older than the last run now: its line appears.
    const rejections = afterSync.last_run_with_rejections;
    await until("the last run with rejections line", async () => await page.isVisible("#last-rejections"));
    const rejectionsText = await page.textContent("#last-rejections");
    if (!rejectionsText.includes(`#${rejections.id}`) || !rejectionsText.includes(`${rejections.failed} rejected`)
        || !rejectionsText.includes(localStamp(rejections.started_at, DESKTOP_ZONE))) {
      fail(`last run with rejections line: ${JSON.stringify(rejectionsText)}`);
    }

    // Retry now: the waiting change is due now.
    await page.click(`button.retry[data-id="${waitingId}"]`);
    await until("the retried change to leave the waiting list", async () => !(await waitingRow(page, waitingId)));
    const retried = (await apiStatus("?status=PENDING&limit=500")).entries.items.find((e) => String(e.id) === String(waitingId));
    if (!retried || retried.next_attempt_at !== null) fail(`after Retry now the API shows ${JSON.stringify(retried)}`);
    if (!(await page.textContent("#notice")).includes(`#${waitingId}`)) fail("no notice after Retry now");

    // Requeue a FAILED change from the page.
    const failedBefore = (await counts(page)).failed;
    await page.click(`button.requeue[data-id="${requeueId}"]`);
    await until("the requeued change to leave FAILED", async () => (await counts(page)).failed === failedBefore - 1);
    const stillFailed = await apiStatus("?status=FAILED&limit=500");
    if (stillFailed.entries.items.some((e) => String(e.id) === String(requeueId))) fail("the change is still FAILED in the API");
    if (dialogs !== 0) fail("the page opened a dialog");
    await page.screenshot({ path: `${artifacts}/status-page-after.png`, fullPage: true });

    console.log(JSON.stringify({ ok: true, before: shown, after: await counts(page) }));
  } finally {
    await browser.close();
  }
})().catch((error) => fail(error.stack || String(error)));
