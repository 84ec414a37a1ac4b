// dashboard.test.mjs: the dashboard sink's page in a real headless Chromium.
//
// A pipeline follows a CSV file of three sensors' readings, some flagged as
// anomalies, into the `dashboard` sink; the page must draw one chart per
// sensor with one red marker per flagged reading, show the counts, and take
// in lines appended to the file while it is open. A screenshot is kept in
// build/web-test/ as the test's artifact.
//   SLUICE=build/sluice SLUICE_WEB=build/web node --test tests/web/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitFor, launch } from "./browser.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const sluice = process.env.SLUICE || join(root, "build/sluice");
const web = process.env.SLUICE_WEB || join(root, "build/web");
const artifacts = join(root, "build/web-test");
const sensors = ["sensor-1", "sensor-2", "sensor-3"];

let work, pipeline, browser, page, url;
const outside = []; // requests the page made beyond the Sluice server
const readingsFile = () => join(work, "readings.csv");

// Reading i of a sensor: a gentle wave, every 17th reading flagged.
function reading(sensor, i) {
  const t = new Date(Date.UTC(2026, 10, 24) + i * 60000).toISOString();
  const anomaly = i % 17 === 5;
  const value = 50 + 10 * Math.sin(i / 10) + (anomaly ? 40 : 0);
  return `${t},${sensor},${value.toFixed(1)},${anomaly}\n`;
}

function readings(from, to) {
  let text = "";
  for (let i = from; i < to; i++) for (const s of sensors) text += reading(s, i);
  return text;
}

function flaggedBetween(from, to) {
  let n = 0;
  for (let i = from; i < to; i++) if (i % 17 === 5) n += sensors.length;
  return n;
}

async function pointsServed() {
  const snapshot = await (await fetch(`${url}api/series`)).json();
  return Object.values(snapshot.keys).reduce((n, s) => n + s.t.length, 0);
}

// What the page shows: per chart, its sensor, points and anomaly markers.
function chartsShown() {
  return page.$$eval(".chart", (boxes) => boxes.map((b) => ({
    key: b.dataset.key,
    points: Number(b.dataset.points),
    markers: Number(b.dataset.markers),
    canvases: b.querySelectorAll("canvas").length,
  })));
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), "sluice-web-"));
  writeFileSync(readingsFile(), readings(0, 100));
  const port = await freePort();
  url = `http://127.0.0.1:${port}/`;
  writeFileSync(join(work, "pipeline.yaml"), `
sources:
  lines:
    type: file
    path: readings.csv
    follow: true
transforms:
  parse:
    type: parse_csv
    inputs: [lines]
    columns: [timestamp, sensor, air_quality, is_anomaly]
    types: {timestamp: timestamp, air_quality: float, is_anomaly: bool}
sinks:
  dashboard:
    type: dashboard
    inputs: [parse]
    address: 127.0.0.1:${port}
    max_points: 1000
`);
  pipeline = spawn(sluice, ["run", "--quiet", join(work, "pipeline.yaml")], {
    env: { ...process.env, SLUICE_WEB: web },
    stdio: ["ignore", "inherit", "inherit"],
  });
  await waitFor("the pipeline's 300 readings", async () => (await pointsServed()) === 300);
  // A fresh profile each run: playwright passes it as --user-data-dir.
  browser = await launch(join(work, "chromium"), url, outside);
  page = browser.pages()[0] || await browser.newPage();
  page.on("pageerror", (err) => console.error("page error:", err.message));
  await page.goto(url);
});

after(async () => {
  await browser?.close();
  if (pipeline && pipeline.exitCode === null) {
    const ended = new Promise((r) => pipeline.once("exit", r));
    pipeline.kill("SIGTERM");
    await ended;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the page loads its own copy of uPlot, without the internet", async () => {
  await page.waitForFunction(() => typeof window.uPlot === "function");
  assert.deepEqual(outside, []);
});

test("one chart per sensor, each with all its readings", async () => {
  await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length >= 3);
  await waitFor("the charts", async () => (await chartsShown()).every((c) => c.points === 100));
  const charts = await chartsShown();
  assert.deepEqual(charts.map((c) => c.key).sort(), sensors);
  for (const c of charts) assert.ok(c.canvases >= 1, `${c.key} has a canvas`);
});

test("one red marker per flagged reading, and the header counts them", async () => {
  const charts = await chartsShown();
  const markers = charts.reduce((n, c) => n + c.markers, 0);
  assert.equal(markers, flaggedBetween(0, 100));
  assert.equal(await page.textContent("#anomaly-count"), String(markers));
  assert.equal(await page.textContent("#sensor-count"), "3");
  assert.equal(await page.textContent("#point-count"), "300");
});

test("readings appended to the followed file arrive live", async () => {
  await page.waitForFunction(() => document.body.dataset.status === "live");
  appendFileSync(readingsFile(), readings(100, 140));
  await waitFor("the new readings on the page",
    async () => (await chartsShown()).every((c) => c.points === 140));
  const markers = (await chartsShown()).reduce((n, c) => n + c.markers, 0);
  assert.equal(markers, flaggedBetween(0, 140));
  assert.equal(await page.textContent("#point-count"), "420");
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true });
});

test("without the built page, / says how to build it and the API still answers", async () => {
  const port = await freePort();
  const unbuilt = join(work, "unbuilt");
  mkdirSync(unbuilt);
  writeFileSync(join(work, "unbuilt.yaml"), `
sources:
  lines:
    type: file
    path: readings.csv
    follow: true
sinks:
  dashboard:
    type: dashboard
    inputs: [lines]
    address: 127.0.0.1:${port}
`);
  const run = spawn(sluice, ["run", "--quiet", join(work, "unbuilt.yaml")], {
    env: { ...process.env, SLUICE_WEB: unbuilt },
    stdio: ["ignore", "inherit", "ignore"],
  });
  try {
    const base = `http://127.0.0.1:${port}/`;
    await waitFor("the second pipeline", async () => (await fetch(`${base}api/series`)).ok);
    const home = await fetch(base);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /not built.*web\/build\.sh/s);
    assert.equal((await fetch(`${base}static/dashboard.js`)).status, 404);
  } finally {
    const ended = new Promise((r) => run.once("exit", r));
    run.kill("SIGTERM");
    await ended;
  }
});
