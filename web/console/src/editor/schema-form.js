// schema-form.js: a settings form generated from a component's JSON Schema
// (as `sluice schema` and /api/v1/components give it): strings, numbers,
// booleans, enums, lists, nested objects and maps, with required settings
// marked and each setting's description as its help. The form reports each
// change as onChange(path, value), path being the list of keys from the
// component down; value undefined means "remove the setting" (its default
// then applies).
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { h, uid } from "../dom.js";

// Settings every component has, edited elsewhere (type: the palette;
// inputs: the graph's connections and the inputs list).
const ELSEWHERE = new Set(["type", "inputs"]);

// The schema of a setting without the `${VAR}` alternative that every
// typed setting allows, keeping the outer description and default.
function resolve(schema = {}) {
  const branches = schema.anyOf || schema.oneOf;
  if (!branches) return schema;
  const main = branches.find((b) => !(b.type === "string" && b.pattern)) || branches[0];
  return { ...resolve(main), description: schema.description, default: schema.default };
}

// The form for an object schema and its current value. options.custom
// (key -> (schema, value, set) => element) replaces a setting's field.
export function schemaForm(schema, value, onChange, options = {}) {
  return objectFields(schema, value || {}, [], onChange, options);
}

function objectFields(schema, value, path, onChange, options) {
  const required = new Set(schema.required || []);
  const rows = [];
  for (const [key, sub] of Object.entries(schema.properties || {})) {
    if (path.length === 0 && ELSEWHERE.has(key)) continue;
    const set = (v) => onChange([...path, key], v);
    const custom = path.length === 0 && options.custom?.[key];
    rows.push(setting(key, resolve(sub), value[key], required.has(key), set, custom, onChange, [...path, key], options));
  }
  return h("div", { class: "fields" }, rows);
}

// One labelled setting: its field, its help, and a required mark.
function setting(key, schema, value, required, set, custom, onChange, path, options) {
  const id = uid("f");
  const help = [schema.description, schema.default !== undefined && `Default: ${schema.default}`]
    .filter(Boolean).join(" ");
  const helpId = help ? `${id}-help` : undefined;
  const label = h("span", { class: "label-text" }, key,
    required && h("abbr", { class: "required", title: "required" }, " *"));
  if (schema.type === "object" && schema.properties && !custom) {
    return h("fieldset", { class: "setting nested", dataset: { key } },
      h("legend", {}, label),
      help && h("p", { class: "help", id: helpId }, help),
      objectFields(schema, isObject(value) ? value : {}, path, onChange, options));
  }
  const control = custom ? custom(schema, value, set, id) : field(schema, value, set, id);
  const labelled = control.id === id ? control : control.querySelector(`#${id}`);
  if (helpId) labelled.setAttribute("aria-describedby", helpId);
  if (required) labelled.setAttribute("aria-required", "true");
  return h("div", { class: "setting", dataset: { key } },
    h("label", { for: id }, label),
    control,
    help && h("p", { class: "help", id: helpId }, help));
}

function field(schema, value, set, id) {
  if (schema.enum) return enumField(schema, value, set, id);
  switch (schema.type) {
    case "boolean": return booleanField(schema, value, set, id);
    case "integer":
    case "number": return numberField(schema, value, set, id);
    case "string": return textField(value, set, id, schema.default);
    case "array": return listField(resolve(schema.items), value, set, id);
    case "object":
      if (schema.additionalProperties && typeof schema.additionalProperties === "object")
        return mapField(resolve(schema.additionalProperties), value, set, id);
      return yamlField(value, set, id);
    default:
      // Several scalar types (a constant of any type): typed as YAML reads it.
      if (Array.isArray(schema.type)) return scalarField(value, set, id);
      return yamlField(value, set, id);
  }
}

function textField(value, set, id, placeholder) {
  return h("input", {
    id, type: "text", value: value ?? "", placeholder: placeholder ?? "",
    onchange: (e) => set(e.target.value === "" ? undefined : e.target.value),
  });
}

function scalarField(value, set, id) {
  return h("input", {
    id, type: "text", value: value === undefined ? "" : toYaml(value).trim(),
    onchange: (e) => set(e.target.value === "" ? undefined : parseYaml(e.target.value)),
  });
}

function numberField(schema, value, set, id) {
  return h("input", {
    id, type: "number", value: value ?? "", placeholder: schema.default ?? "",
    step: schema.type === "integer" ? "1" : "any", min: schema.minimum, max: schema.maximum,
    onchange: (e) => set(e.target.value === "" ? undefined : Number(e.target.value)),
  });
}

function booleanField(schema, value, set, id) {
  const byDefault = String(schema.default) === "true";
  return h("input", {
    id, type: "checkbox", checked: value === undefined ? byDefault : Boolean(value),
    onchange: (e) => set(e.target.checked === byDefault ? undefined : e.target.checked),
  });
}

function enumField(schema, value, set, id) {
  return h("select", { id, onchange: (e) => set(e.target.value === "" ? undefined : e.target.value) },
    h("option", { value: "" }, schema.default !== undefined ? `(default: ${schema.default})` : "(none)"),
    schema.enum.map((v) => h("option", { value: v, selected: v === value }, v)));
}

// A list of values: one field per item, with Remove and Add buttons.
function listField(itemSchema, value, set, id) {
  const items = Array.isArray(value) ? [...value] : [];
  const box = h("div", { class: "list", id, role: "group" });
  const commit = () => set(items.length ? items : undefined);
  const render = () => {
    box.replaceChildren(
      ...items.map((item, i) => h("div", { class: "row" },
        field(itemSchema, item, (v) => { items[i] = v ?? ""; commit(); }, uid("f")),
        h("button", { type: "button", class: "small", "aria-label": `remove item ${i + 1}`,
          onclick: () => { items.splice(i, 1); commit(); render(); } }, "×"))),
      h("button", { type: "button", class: "small add",
        onclick: () => { items.push(itemSchema.type === "string" ? "" : null); render(); box.querySelector(".row:last-of-type input, .row:last-of-type select")?.focus(); } },
      "+ add"));
  };
  render();
  return box;
}

// A map of names to values: rows of a name field and a value field.
function mapField(valueSchema, value, set, id) {
  const entries = Object.entries(isObject(value) ? value : {});
  const box = h("div", { class: "map", id, role: "group" });
  const commit = () => {
    const result = Object.fromEntries(entries.filter(([k]) => k !== ""));
    set(Object.keys(result).length ? result : undefined);
  };
  const render = () => {
    box.replaceChildren(
      ...entries.map((entry, i) => h("div", { class: "row" },
        h("input", { type: "text", value: entry[0], placeholder: "name", "aria-label": "name",
          onchange: (e) => { entry[0] = e.target.value; commit(); } }),
        field(valueSchema, entry[1], (v) => { entry[1] = v; commit(); }, uid("f")),
        h("button", { type: "button", class: "small", "aria-label": `remove ${entry[0] || "entry"}`,
          onclick: () => { entries.splice(i, 1); commit(); render(); } }, "×"))),
      h("button", { type: "button", class: "small add",
        onclick: () => { entries.push(["", undefined]); render(); } }, "+ add"));
  };
  render();
  return box;
}

// Free-form settings (a function's config): YAML or JSON text.
function yamlField(value, set, id) {
  const error = h("span", { class: "field-error", role: "alert" });
  const area = h("textarea", {
    id, rows: 3, spellcheck: false, placeholder: "{key: value}",
    value: value === undefined ? "" : toYaml(value, { flowCollectionPadding: false }).trimEnd(),
    onchange: (e) => {
      try {
        set(e.target.value.trim() === "" ? undefined : parseYaml(e.target.value));
        error.textContent = "";
      } catch (err) {
        error.textContent = err.message.split("\n")[0];
      }
    },
  });
  return h("div", { class: "yaml-field" }, area, error);
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
