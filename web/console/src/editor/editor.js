// editor.js: the pipeline editor view. One PipelineDocument is the truth;
// the graph, the YAML text and the settings form are views of it, and each
// edit, wherever it is made, goes: document -> the other views ->
// validation (debounced) -> problems on the nodes.
import { api } from "../api.js";
import { h, debounce } from "../dom.js";
import { notify } from "../notice.js";
import { PipelineDocument } from "./document.js";
import { Graph } from "./graph.js";
import { place, placeNew } from "./layout.js";
import { renderPalette, isPaletteDrag, droppedEntry } from "./palette.js";
import { renderSettings } from "./settings.js";
import { Validator, placeProblems } from "./validation.js";
import { Runner } from "./runner.js";
import { TapPanel } from "./tap-panel.js";
import { showPreview } from "./preview-panel.js";

const EMPTY = "The pipeline is empty: add components from the palette, or write its YAML.";

export class Editor {
  constructor(view) {
    this.doc = new PipelineDocument("");
    this.positions = new Map();
    this.selected = null;
    this.types = [];
    this.artifacts = [];
    this.problems = new Map();
    this.stats = null;
    this.layout(view);
    this.graph = new Graph(this.canvas, {
      onConnect: (input, to) => this.edit("graph", () => {
        const c = this.doc.find(to);
        if (!c.inputs.includes(input)) this.doc.setInputs(to, [...c.inputs, input]);
      }),
      onDisconnect: (input, to) => this.edit("graph", () => {
        const c = this.doc.find(to);
        if (c) this.doc.setInputs(to, c.inputs.filter((i) => i !== input));
      }),
      onRemove: (name) => this.edit("graph", () => this.doc.remove(name)),
      onSelect: (name) => this.select(name ?? null),
      onMove: (name, position) => this.positions.set(name, position),
    });
    this.validator = new Validator((problems) => this.showProblems(problems));
    this.runner = new Runner(this.runbar, {
      yaml: () => this.doc.toString(),
      open: (name, yaml) => this.load(yaml),
      stats: (stats) => { this.stats = stats; this.graph.setStats(stats); },
      rejected: (problems) => this.showProblems(problems),
    });
    this.tapPanel = new TapPanel(this.tapBox);
    this.acceptDrops();
    this.changed("load");
  }

  layout(view) {
    this.runbar = h("div", { class: "runbar", role: "toolbar", "aria-label": "Pipeline" });
    this.palette = h("nav", { class: "palette", "aria-label": "Add a component" });
    this.canvas = h("div", { id: "graph", class: "graph", "aria-label": "Pipeline graph" });
    this.settingsBox = h("section", { id: "settings", class: "panel", "aria-label": "Node settings" });
    this.tapBox = h("section", { id: "tap", class: "panel", "aria-label": "Tap", hidden: true });
    this.previewBox = h("section", { id: "preview", class: "panel", "aria-label": "Preview", hidden: true });
    this.yaml = h("textarea", { id: "yaml", spellcheck: false, rows: 16, "aria-describedby": "problems",
      oninput: debounce(() => this.yamlEdited(), 300) });
    this.problemsBox = h("div", { id: "problems", class: "problems", role: "status", "aria-live": "polite" });
    view.append(this.runbar,
      h("div", { class: "editor" },
        this.palette,
        h("div", { class: "canvas-wrap" }, this.canvas),
        h("div", { class: "side" }, this.settingsBox, this.previewBox, this.tapBox)),
      h("div", { class: "source" },
        h("div", { class: "yaml-box" }, h("label", { for: "yaml" }, "YAML"), this.yaml),
        h("div", { class: "problems-box" }, h("h2", {}, "Validation"), this.problemsBox)));
  }

  // Loads the component types and the registry's functions.
  async loadCatalog() {
    try {
      this.types = await api("GET", "components");
      this.artifacts = (await api("GET", "artifacts")).artifacts || [];
    } catch (err) {
      notify(`Cannot load the component types: ${err.message}`, "error");
    }
    renderPalette(this.palette, this.types, this.artifacts, (entry) => this.add(entry));
    this.renderSettings();
  }

  // Adds a palette entry at `position` (canvas coordinates), or where its
  // kind's column has room.
  add({ kind, type, settings, base }, position = placeNew(kind, this.positions)) {
    const name = this.doc.freeName(base);
    this.positions.set(name, position);
    this.edit("palette", () => this.doc.add(kind, type, name, settings));
    this.graph.select(name);
  }

  // Palette entries dropped on the canvas are added where they land.
  acceptDrops() {
    const wrap = this.canvas.parentNode;
    const over = (on) => wrap.classList.toggle("drop-target", on);
    this.canvas.addEventListener("dragover", (e) => {
      if (!isPaletteDrag(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      over(true);
    });
    this.canvas.addEventListener("dragleave", (e) => {
      if (!this.canvas.contains(e.relatedTarget)) over(false);
    });
    this.canvas.addEventListener("drop", (e) => {
      over(false);
      const entry = droppedEntry(e);
      if (!entry) return;
      e.preventDefault();
      this.add(entry, this.graph.toCanvas(e.clientX, e.clientY));
    });
  }

  // Applies a change to the document, then refreshes the other views.
  edit(origin, change) {
    change();
    this.changed(origin);
  }

  changed(origin) {
    const components = this.doc.components();
    const names = new Set(components.map((c) => c.name));
    for (const name of this.positions.keys()) if (!names.has(name)) this.positions.delete(name);
    if (this.selected && !names.has(this.selected)) this.selected = null;
    if (origin !== "yaml") this.yaml.value = this.doc.toString();
    if (origin === "graph") this.graph.drawn(components);
    else {
      this.graph.sync(components, place(components, this.positions));
      this.graph.setProblems(this.problems);
      this.graph.setStats(this.stats);
      if (this.selected) this.graph.select(this.selected);
    }
    if (origin !== "form") this.renderSettings();
    if (components.length) this.validator.schedule(this.doc.toString());
    else this.validator.local([{ line: null, column: null, component: null, message: EMPTY }]);
  }

  yamlEdited() {
    const doc = new PipelineDocument(this.yaml.value);
    if (!doc.ok) {
      this.validator.local(doc.problems);
      return;
    }
    this.doc = doc;
    this.changed("yaml");
  }

  // A saved pipeline's text replaces the editor's: laid out anew.
  load(yaml) {
    this.doc = new PipelineDocument(yaml);
    this.positions.clear();
    this.selected = null;
    this.changed("load");
  }

  select(name) {
    if (name === this.selected) return;
    this.selected = name;
    this.renderSettings();
  }

  renderSettings() {
    const component = this.selected ? this.doc.find(this.selected) : null;
    const components = this.doc.components();
    renderSettings(this.settingsBox, {
      component,
      all: components,
      type: component && this.types.find((t) => t.kind === component.kind && t.type === component.type),
      artifacts: this.artifacts,
    }, {
      rename: (from, to) => {
        if (!this.doc.rename(from, to)) {
          notify(`Cannot rename ${from} to '${to}': names are letters, digits, _ and -, and unique.`, "error");
          this.renderSettings();
          return;
        }
        this.positions.set(to, this.positions.get(from));
        this.selected = to;
        this.changed("rename");
      },
      inputs: (name, inputs) => this.edit("inputs", () => this.doc.setInputs(name, inputs)),
      set: (name, path, value) => this.edit("form", () => this.doc.set(name, path, value)),
      remove: (name) => this.edit("settings", () => this.doc.remove(name)),
      tap: (name) => this.tapPanel.open(this.runner.pipeline, name),
      preview: (name) => this.preview(name),
    });
  }

  preview(name) {
    const c = this.doc.find(name);
    const input = c.inputs.find((i) => this.tapPanel.samples.has(i));
    showPreview(this.previewBox, c, input && this.tapPanel.samples.get(input));
  }

  showProblems(problems) {
    const names = new Set(this.doc.components().map((c) => c.name));
    this.problems = placeProblems(problems, names, this.problemsBox);
    this.graph.setProblems(this.problems);
  }
}
