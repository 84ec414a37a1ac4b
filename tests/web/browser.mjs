// browser.mjs: what the Chromium tests share: a free loopback port,
// waiting for a condition, and Debian's Chromium launched headless with a
// fresh profile, allowed to reach only the server under test.
import { createServer } from "node:net";
import { chromium } from "playwright-core";

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on("error", fail);
  });
}

// Polls check() every 100 ms until it returns true (errors count as not
// yet), for at most ms.
export async function waitFor(what, check, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch { /* not up yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A browser context whose requests beyond `origin` are refused and listed
// in `outside`.
export async function launch(profileDir, origin, outside) {
  const browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 1000 },
  });
  await browser.route("**/*", (route) => {
    if (route.request().url().startsWith(origin)) return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
  return browser;
}
