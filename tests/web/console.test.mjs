// console.test.mjs: the web console (web/console) against a real `sluice
// serve`, in headless Chromium, as a person would use it: publish a
// function by dropping its archive on the registry page, build a pipeline
// (generate -> the function -> a file) from the palette and the generated
// forms (clicking palette entries, and dragging one onto the canvas),
// watch validation follow the edits, deploy it and see records flow,
// tap a node, chart a field live, and edit the YAML. Each step leaves a
// screenshot in build/web-test/console-*.png.
//   SLUICE=... SLUICE_CONSOLE=build/web/console ARTIFACT=flag-warm-1.0.0.tar.gz
//   SIGNER=HEX node --test tests/web/console.test.mjs     (tests/web/console.sh does it)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitFor, launch } from "./browser.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const sluice = process.env.SLUICE || join(root, "build/sluice");
const consoleDir = process.env.SLUICE_CONSOLE || join(root, "build/web/console");
const artifact = process.env.ARTIFACT;
const shots = join(root, "build/web-test");
const TOKEN = "console-test-token";
const PIPELINE = "console-test";
const LONG = 30000; // the machine is shared: conditions get time

let work, server, browser, page, url, sinkFile;
const outside = []; // requests beyond the server
const consoleErrors = []; // errors the page logged or threw

const shot = (name) => page.screenshot({ path: join(shots, `console-${name}.png`), fullPage: true });
const node = (name) => page.locator(`.drawflow-node[data-name="${name}"]`);
const nodeNumber = (name, key) => node(name).locator(".node-stats").getAttribute(`data-${key}`);

// Sets a setting of the selected node through its generated form.
async function setSetting(key, value) {
  const input = page.locator(`#settings > .fields > .setting[data-key="${key}"] > input`);
  await input.fill(String(value));
  await input.press("Tab"); // fields apply on change
}

// Replaces the YAML view's text, as typing would.
async function typeYaml(text) {
  await page.locator("#yaml").fill(text);
}

// Drops the artifact file on the registry's drop zone, as a file dragged
// from the desktop would be.
async function dropArtifact() {
  const bytes = readFileSync(artifact).toString("base64");
  const data = await page.evaluateHandle(({ bytes, name }) => {
    const transfer = new DataTransfer();
    const raw = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
    transfer.items.add(new File([raw], name, { type: "application/gzip" }));
    return transfer;
  }, { bytes, name: "flag-warm-1.0.0.tar.gz" });
  await page.dispatchEvent("#dropzone", "dragover", { dataTransfer: data });
  await page.dispatchEvent("#dropzone", "drop", { dataTransfer: data });
}

before(async () => {
  assert.ok(artifact, "ARTIFACT: the function's archive (tests/web/console.sh makes it)");
  work = mkdtempSync(join(tmpdir(), "sluice-console-"));
  sinkFile = join(work, "out.ndjson");
  mkdirSync(shots, { recursive: true });
  const port = await freePort();
  url = `http://127.0.0.1:${port}/`;
  server = spawn(sluice, ["serve", "--data", join(work, "data"), "--listen", `127.0.0.1:${port}`,
    "--token", TOKEN, "--web", consoleDir], { stdio: ["ignore", "pipe", "inherit"] });
  let said = "";
  server.stdout.on("data", (d) => { said += d; });
  await waitFor("sluice serve to listen", () => said.includes(`listening on http://127.0.0.1:${port}`));
  browser = await launch(join(work, "chromium"), url, outside);
  page = browser.pages()[0] || await browser.newPage();
  page.setDefaultTimeout(LONG);
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (err) => consoleErrors.push(err.message));
  await page.goto(url);
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const ended = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    await ended;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the console loads with no errors and nothing from the internet", async () => {
  await page.locator(".palette-item.source", { hasText: "generate" }).waitFor();
  await page.locator(".palette-item.sink", { hasText: "file" }).waitFor();
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(outside, []);
  await shot("loaded");
});

test("a change without the token is refused with a clear message", async () => {
  await page.click("#tab-registry");
  await dropArtifact();
  await page.locator("#upload-status", { hasText: /token/i }).waitFor();
  assert.equal(await page.getAttribute("#token", "aria-invalid"), "true");
  consoleErrors.length = 0; // the browser logs the refused request itself
});

test("an artifact dropped on the registry is listed with its version, manifest and README", async () => {
  await page.fill("#token", TOKEN);
  await dropArtifact();
  await page.locator("#upload-status", { hasText: "Published flag-warm@1.0.0" }).waitFor();
  const row = page.locator('#artifact-list tr[data-name="flag-warm"]');
  assert.equal(await row.locator(".version").textContent(), "1.0.0");
  await page.locator("#artifact-details .versions li[data-version='1.0.0']").waitFor();
  const manifest = await page.textContent("#artifact-manifest");
  assert.match(manifest, /name: flag-warm/);
  assert.match(manifest, /threshold: 30/);
  await page.locator("#artifact-readme strong", { hasText: "is_anomaly" }).waitFor();
  await page.locator("#artifact-signature", { hasText: process.env.SIGNER || "ed25519" }).waitFor();
  const download = await page.getAttribute("#artifact-download", "href");
  const archive = await fetch(new URL(download, url));
  assert.equal(archive.status, 200);
  assert.equal(Buffer.from(await archive.arrayBuffer()).compare(readFileSync(artifact)), 0);
  await page.fill("#registry-search", "nothing-like-this");
  await page.locator("#artifact-list", { hasText: "Nothing matches" }).waitFor();
  await page.fill("#registry-search", "warmer");
  await row.waitFor();
  await shot("registry");
});

test("a pipeline built from the palette (click and drag) and forms, validated as it is edited", async () => {
  await page.click("#tab-editor");
  await page.fill("#pipeline-name", PIPELINE);
  await page.click(".palette-item.source >> text=generate");
  await setSetting("rate", 2000);
  await page.click('.palette-item.function >> text="flag-warm@1.0.0"');
  // The sink is dragged from the palette and lands where it is dropped.
  const drop = { x: 640, y: 220 };
  await page.locator(".palette-item.sink >> text=file").dragTo(page.locator("#graph"), { targetPosition: drop });
  await node("file").waitFor();
  const canvas = await page.locator("#graph").boundingBox();
  const dropped = await node("file").boundingBox();
  assert.ok(Math.abs(dropped.x - (canvas.x + drop.x)) <= 3 && Math.abs(dropped.y - (canvas.y + drop.y)) <= 3,
    `the node is at (${dropped.x - canvas.x}, ${dropped.y - canvas.y}) in the canvas, not at the drop point`);
  // The sink lacks its required path (and inputs): its node says so.
  await node("file").locator(".node-problems li").first().waitFor();
  assert.match(await node("file").locator(".node-problems").textContent(), /path|inputs/);
  await shot("invalid");

  // generate -> flag-warm by drawing the connection on the canvas...
  const from = node("generate").locator(".output_1");
  const to = node("flag-warm").locator(".input_1");
  await from.hover();
  await page.mouse.down();
  await to.hover();
  await page.mouse.up();
  // ... and flag-warm -> file with the sink's inputs list.
  await node("file").click();
  await page.check('#settings .inputs input[value="flag-warm"]');
  await setSetting("path", sinkFile);

  const yaml = await page.inputValue("#yaml");
  assert.match(yaml, /generate:\n\s+type: generate\n\s+rate: 2000/);
  assert.match(yaml, /flag-warm:\n\s+type: function\n\s+inputs: \[generate\]\n\s+artifact: flag-warm@1\.0\.0/);
  assert.match(yaml, /file:\n\s+type: file\n\s+inputs: \[flag-warm\]\n\s+path: /);
  await page.locator("#problems", { hasText: "Valid pipeline" }).waitFor();
  assert.equal(await node("file").locator(".node-problems li").count(), 0);
  assert.equal(await page.locator(".drawflow-node.has-problems").count(), 0);
  await shot("editor");
});

test("deployed, records flow: rates on nodes and edges, and the sink file grows", async () => {
  await page.click("#deploy");
  await page.locator('#pipeline-state[data-state="running"]').waitFor();
  for (const name of ["generate", "flag-warm", "file"])
    await waitFor(`a rate on ${name}`, async () => Number(await nodeNumber(name, "rate")) > 0, LONG);
  await waitFor("a rate on the edge into the function", async () =>
    Number(await page.getAttribute('svg.connection[data-from="generate"][data-to="flag-warm"]', "data-rate")) > 0, LONG);
  assert.equal(await nodeNumber("flag-warm", "errors"), "0");
  await waitFor("the sink file", () => statSync(sinkFile).size > 0, LONG);
  const before = statSync(sinkFile).size;
  await waitFor("the sink file to grow", () => statSync(sinkFile).size > before, LONG);
  const first = JSON.parse(readFileSync(sinkFile, "utf8").split("\n")[0]);
  assert.equal(typeof first.is_anomaly, "boolean");
  await shot("running");
});

test("the tap shows the records leaving a node", async () => {
  await node("flag-warm").click();
  await page.click("#settings >> text=Tap records");
  await waitFor("tapped records", async () => (await page.locator("#tap-records li").count()) >= 3, LONG);
  const record = JSON.parse(await page.locator("#tap-records li").first().textContent());
  assert.equal(typeof record.temperature, "number");
  assert.equal(typeof record.is_anomaly, "boolean");
  await shot("tap");
});

test("the live view charts a field, flagged records as markers", async () => {
  await page.click("#tab-live");
  await page.locator(`#live-pipeline option[value="${PIPELINE}"]`).waitFor({ state: "attached" });
  await page.selectOption("#live-component", "flag-warm");
  await page.click("#live-toggle");
  await page.locator('#live-field option[value="temperature"]').waitFor({ state: "attached" });
  await page.selectOption("#live-field", "temperature");
  assert.equal(await page.inputValue("#live-flag"), "is_anomaly");
  await waitFor("points and markers", async () => {
    const box = page.locator("#live-chart");
    return Number(await box.getAttribute("data-points")) >= 50 && Number(await box.getAttribute("data-marked")) > 0;
  }, LONG);
  assert.ok(await page.locator("#live-chart canvas").count() >= 1);
  await shot("live");
  await page.click("#live-toggle"); // stop
});

test("editing the YAML changes the graph", async () => {
  await page.click("#tab-editor");
  const yaml = await page.inputValue("#yaml");
  await typeYaml(`${yaml}  rejects:\n    type: file\n    inputs: [flag-warm.errors]\n    path: ${join(work, "rejects.ndjson")}\n`);
  await node("rejects").waitFor();
  await page.locator('svg.connection[data-from="flag-warm.errors"][data-to="rejects"]').waitFor({ state: "attached" });
  assert.equal(await page.locator(".drawflow-node").count(), 4);
  // Renaming in the text renames the node and keeps its connections.
  await typeYaml((await page.inputValue("#yaml")).replace(/\bfile:\n/, "store:\n"));
  await node("store").waitFor();
  assert.equal(await node("file").count(), 0);
  await page.locator('svg.connection[data-from="flag-warm"][data-to="store"]').waitFor({ state: "attached" });
  await page.locator("#problems", { hasText: "Valid pipeline" }).waitFor();
  await shot("yaml");
});

test("preview runs the function on sample records", async () => {
  await node("flag-warm").click();
  await page.click("#settings >> text=Preview");
  await page.fill("#preview textarea", '[{"temperature": 20.5}, {"temperature": 33}]');
  await page.click("#preview-run");
  const output = page.locator("#preview-output .preview-records");
  await output.waitFor();
  const records = (await output.textContent()).split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(records.map((r) => r.is_anomaly), [false, true]);
  await shot("preview");
});

test("stopping the pipeline from the console", async () => {
  await page.click("#stop");
  await page.locator('#pipeline-state[data-state="stopped"]').waitFor();
  assert.deepEqual(consoleErrors, []);
});
