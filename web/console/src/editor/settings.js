// settings.js: the panel of the selected node: its name, what it reads
// (inputs), the settings form generated from its type's schema, and its
// actions (tap, preview, delete).
import { h, fill, uid } from "../dom.js";
import { schemaForm } from "./schema-form.js";

// component: from PipelineDocument; all: every component; type: its entry
// of /api/v1/components (or undefined for an unknown type); artifacts: the
// registry's list, offered for a function's `artifact`.
export function renderSettings(box, { component: c, all, type, artifacts }, actions) {
  if (!c) {
    fill(box, h("p", { class: "muted" }, "Select a node to edit its settings, or add one from the palette."));
    return;
  }
  const nameId = uid("name");
  const custom = { artifact: (schema, value, set, id) => artifactField(artifacts, value, set, id) };
  fill(box,
    h("h2", {}, `${c.name}`, h("span", { class: "muted" }, ` ${c.type} ${c.kind}`)),
    h("div", { class: "setting", dataset: { key: "name" } },
      h("label", { for: nameId }, "Name"),
      h("input", { id: nameId, type: "text", value: c.name, pattern: "[A-Za-z0-9_\\-]+",
        onchange: (e) => actions.rename(c.name, e.target.value.trim()) })),
    c.kind !== "source" && inputsField(c, all, actions),
    type ? schemaForm(type.schema, c.settings, (path, value) => actions.set(c.name, path, value), { custom })
      : h("p", { class: "problem" }, `Unknown ${c.kind} type '${c.type}'.`),
    h("div", { class: "actions" },
      c.kind !== "sink" && h("button", { type: "button", onclick: () => actions.tap(c.name) }, "Tap records"),
      c.type === "function" && h("button", { type: "button", onclick: () => actions.preview(c.name) }, "Preview"),
      h("button", { type: "button", class: "danger", onclick: () => actions.remove(c.name) }, "Delete node")));
}

// Checkboxes: every other component's output and error output.
function inputsField(c, all, actions) {
  const candidates = all.filter((o) => o.name !== c.name && o.kind !== "sink")
    .flatMap((o) => [o.name, `${o.name}.errors`]);
  const extra = c.inputs.filter((i) => !candidates.includes(i)); // unknown names stay visible
  const chosen = new Set(c.inputs);
  const toggle = (name, on) => {
    if (on) chosen.add(name); else chosen.delete(name);
    actions.inputs(c.name, [...candidates, ...extra].filter((n) => chosen.has(n)));
  };
  return h("fieldset", { class: "setting inputs", dataset: { key: "inputs" } },
    h("legend", {}, "Inputs", h("abbr", { class: "required", title: "required" }, " *")),
    [...candidates, ...extra].map((name) => {
      const id = uid("in");
      return h("div", { class: "check" },
        h("input", { id, type: "checkbox", checked: chosen.has(name), value: name,
          onchange: (e) => toggle(name, e.target.checked) }),
        h("label", { for: id }, name));
    }),
    candidates.length === 0 && h("p", { class: "muted" }, "Add a source or transform first."));
}

// `artifact`: typed freely or picked from the registry's functions.
function artifactField(artifacts, value, set, id) {
  const listId = `${id}-list`;
  return h("div", { class: "artifact-field" },
    h("input", { id, type: "text", list: listId, value: value ?? "", placeholder: "name@version",
      onchange: (e) => set(e.target.value.trim() || undefined) }),
    h("datalist", { id: listId },
      artifacts.flatMap((a) => [`${a.name}@${a.latest}`, `${a.name}@latest`]).map((v) => h("option", { value: v }))));
}
