// main.js: the console's entry point (bundled by web/build.sh): the token
// field, the three views and the tabs that switch between them (also by
// the URL's #fragment, so a view can be linked to).
import { setupTokenField } from "./token.js";
import { Editor } from "./editor/editor.js";
import { Registry } from "./registry/registry.js";
import { LiveView } from "./live/live.js";
import { notify } from "./notice.js";
import "../console.css"; // last: over the libraries' styles

setupTokenField(document.getElementById("token"));

const editor = new Editor(document.getElementById("view-editor"));
const registry = new Registry(document.getElementById("view-registry"));
const live = new LiveView(document.getElementById("view-live"));
const onShow = {
  editor: () => editor.loadCatalog(),
  registry: () => registry.list(),
  live: () => live.refresh(),
};

function show(view) {
  if (!onShow[view]) view = "editor";
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    document.getElementById(`view-${tab.dataset.view}`).hidden = !on;
  }
  onShow[view]().catch((err) => notify(err.message, "error"));
}

for (const tab of document.querySelectorAll("[role=tab]")) {
  tab.addEventListener("click", () => { location.hash = tab.dataset.view; });
  tab.addEventListener("keydown", (e) => { // arrow keys move along the tabs
    const tabs = [...document.querySelectorAll("[role=tab]")];
    const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (!step) return;
    const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
    next.focus();
    location.hash = next.dataset.view;
  });
}
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
window.addEventListener("sluice:artifacts-changed", () => editor.loadCatalog());
show(location.hash.slice(1));
