// Headless Chromium against the release binary (scripts/ui_check.sh starts it): the page at
// /ui/ renders (a screenshot that is not blank), logs no console error, sends no request
// beyond this server, computes one analysis whose number lands in the DOM, and shows every
// chart (each charting operation's example drawn as an image that decoded).
import { chromium } from "playwright-core";
import { PNG } from "pngjs";
import { writeFileSync } from "node:fs";

const base = process.env.BASE_URL;
const shots = process.env.SHOTS_DIR || ".";
if (!base) throw new Error("BASE_URL is not set");
const origin = new URL(base).origin;

const failures = [];
const check = (ok, message) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${message}`);
  if (!ok) failures.push(message);
};

/** The share of pixels that differ from the top-left one: 0 for a blank screenshot. */
function inkShare(buffer) {
  const png = PNG.sync.read(buffer);
  const [r, g, b] = png.data;
  let differing = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (Math.abs(png.data[i] - r) + Math.abs(png.data[i + 1] - g) + Math.abs(png.data[i + 2] - b) > 30) differing++;
  }
  return differing / (png.width * png.height);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  for (const scheme of ["light", "dark"]) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: scheme });
    const consoleErrors = [];
    const foreign = [];
    // The refusal below is provoked on purpose: Chromium logs its 422 as a failed resource.
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().includes("status of 422")) consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    page.on("request", (r) => {
      const u = r.url();
      if (!u.startsWith(origin) && !u.startsWith("blob:") && !u.startsWith("data:")) foreign.push(u);
    });

    const response = await page.goto(`${base}/ui/`);
    check(response.status() === 200, `${scheme}: GET /ui/ answers 200`);
    await page.waitForSelector("#operation option", { state: "attached" });

    // One analysis, scripted as a person would: /crr, its example, Compute.
    await page.selectOption("#operation", { label: (await page.$$eval("#operation option", (o) => o.map((x) => x.textContent))).find((t) => t.startsWith("/crr ")) });
    await page.click("#load-example");
    await page.fill("#body", JSON.stringify({ start_customers: 200, end_customers: 170, new_customers: 20 }));
    await page.click("#run");
    await page.waitForSelector('[data-metric="customer_retention_rate"]');
    const crr = await page.textContent('[data-metric="customer_retention_rate"]');
    check(crr.trim() === "75", `${scheme}: CRR of (170 − 20) / 200 shows 75 in the page (saw ${crr})`);
    const formula = await page.textContent(".kpi .formula");
    check(formula.includes("CRR = (E - N) / S"), `${scheme}: the formula is shown`);
    const curl = await page.textContent("#curl");
    check(curl.startsWith(`curl -sS -X POST '${origin}/crr'`), `${scheme}: the curl command names the endpoint`);

    const shot = await page.screenshot({ fullPage: true });
    writeFileSync(`${shots}/ui-${scheme}.png`, shot);
    const ink = inkShare(shot);
    check(ink > 0.02, `${scheme}: the page is not blank (${(ink * 100).toFixed(1)} % of pixels drawn)`);

    // A refusal shows the problem's field.
    await page.fill("#body", JSON.stringify({ start_customers: 0, end_customers: 5, new_customers: 5 }));
    await page.click("#run");
    await page.waitForSelector(".problem");
    check((await page.textContent(".problem")).includes("/start_customers"), `${scheme}: a refusal names its field`);

    // Every operation that draws a chart: its example, Compute, and the chart decoded.
    const labels = await page.$$eval("#operation option", (o) => o.map((x) => x.textContent));
    for (const label of labels.filter((t) => t.endsWith("(chart)"))) {
      const path = label.split(" ")[0];
      await page.selectOption("#operation", { label });
      await page.click("#load-example");
      await page.click("#run");
      await page.waitForSelector("#chart-box:not([hidden])", { timeout: 60000 });
      await page.waitForFunction(() => { const i = document.getElementById("chart"); return i.complete && i.naturalWidth > 0; });
      const width = await page.$eval("#chart", (i) => i.naturalWidth);
      const chartShot = await page.locator("#chart").screenshot();
      const name = path.replace(/\//g, "_").replace(/^_/, "");
      writeFileSync(`${shots}/chart-${scheme}-${name}.png`, chartShot);
      const chartInk = inkShare(chartShot);
      check(width > 300 && chartInk > 0.02, `${scheme}: ${path} chart drawn (${width} px wide, ${(chartInk * 100).toFixed(1)} % ink)`);
    }

    check(consoleErrors.length === 0, `${scheme}: no console errors ${consoleErrors.length ? JSON.stringify(consoleErrors) : ""}`);
    check(foreign.length === 0, `${scheme}: no request left ${origin} ${foreign.length ? JSON.stringify(foreign) : ""}`);
    await page.close();
  }
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(`${failures.length} browser check(s) failed`);
  process.exit(1);
}
console.log("browser checks: all passed");
