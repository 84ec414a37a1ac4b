// graph.js: the pipeline drawn as a node graph, with Drawflow.
//
// Why Drawflow: it is a small (46 kB), dependency-free, MIT-licensed
// library made for exactly this (nodes with input and output ports, drawn
// connections, drag, zoom, delete), works with plain DOM nodes, so a node's
// content is ordinary accessible HTML we fill ourselves, and needs no UI
// framework. Rete and React Flow need a framework; litegraph draws on a
// canvas, which screen readers and tests cannot see into.
//
// Ports: a transform or sink has one input port; a source or transform has
// two outputs: output_1 is the component itself (NAME), output_2 its
// rejected records (NAME.errors). The graph only reports what the user did
// (onConnect, onDisconnect, onRemove, onSelect); the editor changes the
// document and calls sync(), which redraws only when the structure differs.
import Drawflow from "drawflow";
import "drawflow/dist/drawflow.min.css";
import { h, fill } from "../dom.js";

const OUTPUTS = { source: 2, transform: 2, sink: 0 };
const INPUTS = { source: 0, transform: 1, sink: 1 };

export class Graph {
  constructor(container, handlers) {
    this.handlers = handlers;
    this.ids = new Map(); // name -> Drawflow id
    this.names = new Map(); // Drawflow id -> name
    this.signature = "";
    this.quiet = false; // true while we draw: our own changes are not user actions
    const editor = new Drawflow(container);
    editor.reroute = false;
    editor.curvature = 0.4;
    // Drawflow listens for Delete on the whole document: ignore the key
    // while the user types in a form outside the canvas.
    editor.key = (e) => {
      if (!container.contains(document.activeElement) && document.activeElement !== document.body) return;
      Drawflow.prototype.key.call(editor, e);
    };
    editor.start();
    this.editor = editor;
    editor.on("connectionCreated", (c) => this.connection(c, "onConnect"));
    editor.on("connectionRemoved", (c) => this.connection(c, "onDisconnect"));
    editor.on("nodeRemoved", (id) => {
      const name = this.names.get(String(id));
      if (this.quiet || name === undefined) return;
      this.forget(name);
      this.handlers.onRemove(name);
    });
    editor.on("nodeSelected", (id) => this.handlers.onSelect(this.names.get(String(id))));
    editor.on("nodeUnselected", () => this.handlers.onSelect(null));
    editor.on("nodeMoved", (id) => {
      const node = editor.getNodeFromId(id);
      this.handlers.onMove(this.names.get(String(id)), { x: node.pos_x, y: node.pos_y });
      this.placeEdgeLabels();
    });
  }

  connection({ output_id, input_id, output_class }, handler) {
    if (this.quiet) return;
    const from = this.names.get(String(output_id));
    const to = this.names.get(String(input_id));
    if (from === undefined || to === undefined) return;
    this.handlers[handler](output_class === "output_2" ? `${from}.errors` : from, to);
  }

  forget(name) {
    this.names.delete(String(this.ids.get(name)));
    this.ids.delete(name);
  }

  // Redraws the graph if components (from PipelineDocument) differ in
  // names, kinds, types or inputs from what is drawn. positions: Map
  // name -> {x, y} for every component.
  sync(components, positions) {
    const signature = JSON.stringify(components.map((c) => [c.name, c.kind, c.type, c.inputs]));
    if (signature === this.signature) return;
    this.signature = signature;
    this.quiet = true;
    try {
      this.editor.clear();
      this.ids.clear();
      this.names.clear();
      for (const c of components) this.drawNode(c, positions.get(c.name));
      for (const c of components)
        for (const input of c.inputs) this.drawEdge(input, c.name);
    } finally {
      this.quiet = false;
    }
    this.placeEdgeLabels();
  }

  // After a change the graph made itself: remember it as drawn.
  drawn(components) {
    this.signature = JSON.stringify(components.map((c) => [c.name, c.kind, c.type, c.inputs]));
  }

  drawNode(c, { x, y }) {
    const id = this.editor.addNode(c.kind, INPUTS[c.kind], OUTPUTS[c.kind], x, y,
      `${c.kind} type-${c.type}`, {}, "");
    this.ids.set(c.name, id);
    this.names.set(String(id), c.name);
    const el = this.element(c.name);
    el.dataset.name = c.name;
    el.setAttribute("aria-label", `${c.kind} ${c.name} (${c.type})`);
    fill(el.querySelector(".drawflow_content_node"),
      h("div", { class: "node-title" },
        h("span", { class: "node-name" }, c.name),
        h("span", { class: "node-type" }, c.type || "?")),
      h("div", { class: "node-stats", hidden: true }),
      h("ul", { class: "node-problems" }));
    el.querySelector(".output_2")?.setAttribute("title", `${c.name}.errors: rejected records`);
    el.querySelector(".output_1")?.setAttribute("title", `${c.name}: records out`);
  }

  drawEdge(input, to) {
    const from = input.replace(/\.errors$/, "");
    const port = input.endsWith(".errors") ? "output_2" : "output_1";
    const outId = this.ids.get(from);
    const inId = this.ids.get(to);
    if (outId === undefined || inId === undefined) return;
    if (port === "output_2" && !OUTPUTS[this.kindOf(from)]) return;
    this.editor.addConnection(outId, inId, port, "input_1");
    const svg = this.edgeElement(input, to);
    if (svg) Object.assign(svg.dataset, { from: input, to });
  }

  // The canvas point (as nodes are placed) under a point of the page's
  // viewport, whatever the canvas's pan and zoom.
  toCanvas(clientX, clientY) {
    const { precanvas, zoom } = this.editor;
    const origin = precanvas.getBoundingClientRect();
    return { x: (clientX - origin.left) / zoom, y: (clientY - origin.top) / zoom };
  }

  kindOf(name) {
    return this.editor.getNodeFromId(this.ids.get(name))?.name;
  }

  element(name) {
    return document.getElementById(`node-${this.ids.get(name)}`);
  }

  edgeElement(input, to) {
    const from = input.replace(/\.errors$/, "");
    const port = input.endsWith(".errors") ? "output_2" : "output_1";
    return this.editor.container.querySelector(
      `svg.connection.node_in_node-${this.ids.get(to)}.node_out_node-${this.ids.get(from)}.${port}`);
  }

  // Marks the node as the selected one (after it was added from the
  // palette, or chosen elsewhere).
  select(name) {
    for (const el of this.editor.container.querySelectorAll(".drawflow-node.selected"))
      el.classList.remove("selected");
    this.element(name)?.classList.add("selected");
    this.handlers.onSelect(name);
  }

  // problems: Map name -> [message]. Lists them on their nodes.
  setProblems(problems) {
    for (const [name] of this.ids) {
      const el = this.element(name);
      const list = problems.get(name) || [];
      el.classList.toggle("has-problems", list.length > 0);
      fill(el.querySelector(".node-problems"), list.map((m) => h("li", {}, m)));
    }
  }

  // stats: the /stats answer, or null to hide the numbers.
  setStats(stats) {
    const byName = new Map((stats?.components || []).map((c) => [c.name, c]));
    for (const [name] of this.ids) {
      const box = this.element(name).querySelector(".node-stats");
      const s = byName.get(name);
      box.hidden = !s;
      if (!s) continue;
      const rate = s.kind === "sink" ? s.rate_in : s.rate_out;
      box.dataset.rate = rate;
      box.dataset.errors = s.errors;
      fill(box, h("span", { class: "rate" }, `${formatRate(rate)} rec/s`),
        h("span", { class: s.errors ? "errors bad" : "errors" }, `${s.errors} errors`));
    }
    for (const svg of this.editor.container.querySelectorAll("svg.connection")) {
      const edge = (stats?.edges || []).find((e) => e.from === svg.dataset.from && e.to === svg.dataset.to);
      let label = svg.querySelector("text.edge-rate");
      if (!edge) {
        label?.remove();
        continue;
      }
      if (!label) {
        label = document.createElementNS("http://www.w3.org/2000/svg", "text");
        label.classList.add("edge-rate");
        svg.append(label);
      }
      svg.dataset.rate = edge.rate;
      label.textContent = `${formatRate(edge.rate)}/s`;
    }
    this.placeEdgeLabels();
  }

  placeEdgeLabels() {
    for (const label of this.editor.container.querySelectorAll("svg.connection text.edge-rate")) {
      const path = label.parentNode.querySelector("path");
      const middle = path.getPointAtLength(path.getTotalLength() / 2);
      label.setAttribute("x", middle.x);
      label.setAttribute("y", middle.y - 6);
    }
  }
}

function formatRate(rate) {
  const r = Number(rate) || 0;
  if (r >= 1e6) return `${(r / 1e6).toFixed(1)}M`;
  if (r >= 1e4) return `${(r / 1e3).toFixed(1)}k`;
  return r >= 100 ? r.toFixed(0) : r.toFixed(1);
}
