// document.js: the pipeline being edited, kept as a `yaml` Document so that
// edits made in the graph and the forms change only what they touch and
// keep the user's comments and layout. Components are read back as plain
// objects: {name, kind, type, inputs, settings}.
import { parseDocument, isMap, isSeq, isScalar, Scalar } from "yaml";

export const SECTIONS = { source: "sources", transform: "transforms", sink: "sinks" };
const ORDER = ["sources", "transforms", "sinks"];

export class PipelineDocument {
  // text: YAML. Throws nothing: syntax problems are in `problems`.
  constructor(text = "") {
    this.doc = parseDocument(text);
    this.problems = this.doc.errors.map((e) => ({
      line: e.linePos?.[0]?.line ?? null,
      column: e.linePos?.[0]?.col ?? null,
      component: null,
      message: e.message.split("\n")[0],
    }));
    if (!this.problems.length && this.doc.contents !== null && !isMap(this.doc.contents))
      this.problems.push({ line: 1, column: 1, component: null, message: "the top level must be a mapping of sources, transforms and sinks" });
  }

  get ok() {
    return this.problems.length === 0;
  }

  toString() {
    if (this.doc.contents === null) return "";
    return this.doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  }

  // Every component, in file order.
  components() {
    const result = [];
    if (!this.ok) return result;
    for (const [kind, section] of Object.entries(SECTIONS)) {
      const map = this.doc.get(section);
      if (!isMap(map)) continue;
      for (const pair of map.items) {
        const settings = pair.value?.toJSON?.() ?? {};
        const plain = settings && typeof settings === "object" ? settings : {};
        const { type = "", inputs = [], ...rest } = plain;
        result.push({
          name: String(isScalar(pair.key) ? pair.key.value : pair.key),
          kind,
          type: String(type),
          inputs: Array.isArray(inputs) ? inputs.map(String) : [],
          settings: rest,
        });
      }
    }
    return result;
  }

  find(name) {
    return this.components().find((c) => c.name === name);
  }

  // A name not yet used, from `base`: base, base_2, base_3...
  freeName(base) {
    const taken = new Set(this.components().map((c) => c.name));
    const clean = base.replace(/[^A-Za-z0-9_-]/g, "_") || "node";
    if (!taken.has(clean)) return clean;
    for (let i = 2; ; i++) if (!taken.has(`${clean}_${i}`)) return `${clean}_${i}`;
  }

  add(kind, type, name, settings = {}) {
    if (this.doc.contents === null) this.doc.contents = this.doc.createNode({});
    const section = SECTIONS[kind];
    if (!isMap(this.doc.get(section))) {
      this.doc.contents.items.push(this.doc.createPair(section, {}));
      sortSections(this.doc.contents);
    }
    const body = kind === "source" ? { type, ...settings } : { type, inputs: [], ...settings };
    this.doc.setIn([section, name], this.node(body));
  }

  // Removes the component and every input that read it.
  remove(name) {
    const c = this.find(name);
    if (!c) return;
    const section = SECTIONS[c.kind];
    this.doc.deleteIn([section, name]);
    if (this.doc.get(section).items.length === 0) this.doc.delete(section);
    for (const other of this.components())
      if (other.inputs.some((i) => readsFrom(i, name)))
        this.setInputs(other.name, other.inputs.filter((i) => !readsFrom(i, name)));
  }

  // Renames a component, and the inputs that name it. False if taken.
  rename(from, to) {
    const c = this.find(from);
    if (!c || from === to || this.find(to) || !/^[A-Za-z0-9_-]+$/.test(to)) return false;
    const pair = this.doc.get(SECTIONS[c.kind]).items.find((p) => String(p.key?.value ?? p.key) === from);
    pair.key = new Scalar(to);
    for (const other of this.components())
      if (other.inputs.some((i) => readsFrom(i, from)))
        this.setInputs(other.name, other.inputs.map((i) => (readsFrom(i, from) ? to + i.slice(from.length) : i)));
    return true;
  }

  setInputs(name, inputs) {
    this.set(name, ["inputs"], inputs);
  }

  // Sets the setting at path (an array of keys) of a component; undefined
  // removes it.
  set(name, path, value) {
    const c = this.find(name);
    if (!c) return;
    const full = [SECTIONS[c.kind], name, ...path];
    if (value === undefined) this.doc.deleteIn(full);
    else this.doc.setIn(full, this.node(value));
  }

  // A YAML node for a value; lists of plain values are written [a, b].
  node(value) {
    const node = this.doc.createNode(value);
    flowShortLists(node);
    return node;
  }
}

// Whether input (NAME or NAME.errors) reads component `name`.
export function readsFrom(input, name) {
  return input === name || input === `${name}.errors`;
}

// Puts sources, transforms and sinks in that order; the comment above the
// first one stays at the top.
function sortSections(map) {
  const top = map.items[0].key.commentBefore;
  map.items[0].key.commentBefore = undefined;
  map.items.sort((a, b) => ORDER.indexOf(a.key.value) - ORDER.indexOf(b.key.value));
  if (top) map.items[0].key.commentBefore = top;
}

function flowShortLists(node) {
  if (isSeq(node) && node.items.every(isScalar)) node.flow = true;
  else if (isSeq(node) || isMap(node))
    for (const item of node.items) flowShortLists(isMap(node) ? item.value : item);
}
