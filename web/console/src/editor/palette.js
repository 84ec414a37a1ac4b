// palette.js: the component types the server knows (/api/v1/components),
// grouped by kind, and the registry's functions; choosing one adds a node.
import { h, fill } from "../dom.js";

const GROUPS = [["source", "Sources"], ["transform", "Transforms"], ["sink", "Sinks"]];

// types: the /components answer; artifacts: the registry's list.
// onAdd(kind, type, settings) adds a component.
export function renderPalette(box, types, artifacts, onAdd) {
  const group = (title, buttons, empty) => h("section", { class: "palette-group" },
    h("h3", {}, title),
    buttons.length ? h("ul", {}, buttons.map((b) => h("li", {}, b))) : h("p", { class: "muted" }, empty));
  fill(box,
    GROUPS.map(([kind, title]) => group(title, types.filter((t) => t.kind === kind).map((t) =>
      h("button", { type: "button", class: `palette-item ${kind}`, title: t.doc || "",
        dataset: { kind, type: t.type }, onclick: () => onAdd(kind, t.type, {}) }, t.type)), "none")),
    group("Functions", artifacts.map((a) =>
      h("button", { type: "button", class: "palette-item function", title: a.description || "",
        dataset: { kind: "transform", type: "function", artifact: `${a.name}@${a.latest}` },
        onclick: () => onAdd("transform", "function", { artifact: `${a.name}@${a.latest}` }, a.name) },
      `${a.name}@${a.latest}`)), "none published yet: see Registry"));
}
