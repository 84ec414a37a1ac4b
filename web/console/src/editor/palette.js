// palette.js: the component types the server knows (/api/v1/components),
// grouped by kind, and the registry's functions. Clicking one adds a node
// where there is room; dragging one onto the canvas adds it where it is
// dropped. Either way the editor gets an entry {kind, type, settings, base}
// (base: the name to start from).
import { h, fill } from "../dom.js";

const GROUPS = [["source", "Sources"], ["transform", "Transforms"], ["sink", "Sinks"]];

// The drag data of a palette entry: its own type, so that text or files
// dragged onto the canvas are not taken for a component.
const DRAG_TYPE = "application/x-sluice-component";

// types: the /components answer; artifacts: the registry's list.
// onAdd(entry) adds a component.
export function renderPalette(box, types, artifacts, onAdd) {
  const item = (entry, cls, title, label) => h("button", {
    type: "button", class: `palette-item ${cls}`, title, draggable: "true",
    dataset: { kind: entry.kind, type: entry.type, ...entry.settings.artifact && { artifact: entry.settings.artifact } },
    onclick: () => onAdd(entry),
    ondragstart: (e) => {
      e.dataTransfer.setData(DRAG_TYPE, JSON.stringify(entry));
      e.dataTransfer.effectAllowed = "copy";
    },
  }, label);
  const group = (title, buttons, empty) => h("section", { class: "palette-group" },
    h("h3", {}, title),
    buttons.length ? h("ul", {}, buttons.map((b) => h("li", {}, b))) : h("p", { class: "muted" }, empty));
  fill(box,
    GROUPS.map(([kind, title]) => group(title, types.filter((t) => t.kind === kind).map((t) =>
      item({ kind, type: t.type, settings: {}, base: t.type }, kind, t.doc || "", t.type)), "none")),
    group("Functions", artifacts.map((a) => {
      const ref = `${a.name}@${a.latest}`;
      return item({ kind: "transform", type: "function", settings: { artifact: ref }, base: a.name },
        "function", a.description || "", ref);
    }), "none published yet: see Registry"));
}

// Whether a drag carries a palette entry (its data can only be read on drop).
export function isPaletteDrag(event) {
  return event.dataTransfer?.types.includes(DRAG_TYPE) ?? false;
}

// The palette entry a drop carries, or null.
export function droppedEntry(event) {
  try {
    const entry = JSON.parse(event.dataTransfer.getData(DRAG_TYPE));
    const valid = typeof entry?.kind === "string" && typeof entry.type === "string" &&
      typeof entry.base === "string" && entry.settings && typeof entry.settings === "object";
    return valid ? entry : null;
  } catch {
    return null;
  }
}
