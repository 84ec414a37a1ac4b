// live.js: the live view: one numeric field of the records flowing out of
// a node of a running pipeline, charted as they come (uPlot), with the
// records whose chosen boolean field (is_anomaly by default) is true drawn
// as red markers. The tap ends every few seconds, so it is reopened for as
// long as the chart runs.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api, enc } from "../api.js";
import { tap } from "../ndjson.js";
import { PipelineDocument } from "../editor/document.js";
import { h, fill } from "../dom.js";
import { Series, fieldKinds } from "./series.js";

export class LiveView {
  constructor(view) {
    const select = (id, label, onchange) => [
      h("label", { for: id }, label), h("select", { id, onchange })];
    this.controls = {};
    const [pl, pipeline] = select("live-pipeline", "Pipeline", () => this.loadComponents());
    const [cl, component] = select("live-component", "Node", () => this.restart());
    const [fl, field] = select("live-field", "Field", () => this.restart());
    const [gl, flag] = select("live-flag", "Marked when", () => this.restart());
    Object.assign(this.controls, { pipeline, component, field, flag });
    this.button = h("button", { type: "button", id: "live-toggle", class: "primary", onclick: () => this.toggle() }, "Start");
    this.status = h("p", { class: "muted", id: "live-status", role: "status" }, "Choose a running pipeline and a node.");
    this.chartBox = h("div", { id: "live-chart", class: "chart", dataset: { points: 0, marked: 0 } });
    view.append(h("div", { class: "live-controls" }, pl, pipeline, cl, component, fl, field, gl, flag, this.button),
      this.status, this.chartBox);
    this.controller = null;
  }

  // Called when the view is shown: the pipelines that run.
  async refresh() {
    const current = this.controls.pipeline.value;
    const running = (await api("GET", "pipelines")).filter((p) => p.state === "running");
    fill(this.controls.pipeline, running.map((p) => h("option", { value: p.name, selected: p.name === current }, p.name)));
    if (!running.length) this.status.textContent = "No pipeline is running: deploy one from the Pipelines view.";
    else if (this.controls.pipeline.value !== current || !this.controls.component.options.length) await this.loadComponents();
  }

  async loadComponents() {
    const p = await api("GET", `pipelines/${enc(this.controls.pipeline.value)}`);
    const names = new PipelineDocument(p.yaml).components().map((c) => c.name);
    fill(this.controls.component, names.map((n) => h("option", { value: n }, n)));
    this.controls.component.value = names.includes(this.controls.component.dataset.last) ? this.controls.component.dataset.last : names.at(-1);
    fill(this.controls.field);
    fill(this.controls.flag);
    this.restart();
  }

  toggle() {
    if (this.controller) this.stop();
    else this.start();
  }

  restart() {
    if (this.controller) {
      this.stop();
      this.start();
    }
  }

  stop() {
    this.controller?.abort();
    this.controller = null;
    this.button.textContent = "Start";
  }

  async start() {
    const pipeline = this.controls.pipeline.value;
    const component = this.controls.component.value;
    if (!pipeline || !component) return;
    this.controls.component.dataset.last = component;
    const controller = new AbortController();
    this.controller = controller;
    this.button.textContent = "Stop";
    const series = new Series();
    this.series = series;
    this.draw(series, true);
    this.status.textContent = `Waiting for records from ${component}…`;
    let frame = 0;
    const onRecord = (record) => {
      this.offerFields(record);
      if (series.add(record, this.controls.field.value, this.controls.flag.value) && !frame)
        frame = requestAnimationFrame(() => { frame = 0; this.draw(series); });
    };
    while (!controller.signal.aborted) {
      try {
        await tap(pipeline, component, { signal: controller.signal, onRecord });
      } catch (err) {
        this.status.textContent = `Cannot tap ${component}: ${err.message}`;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  // The fields to choose from, once the first records show them.
  offerFields(record) {
    const { field, flag } = this.controls;
    if (field.options.length) return;
    const { numbers, booleans } = fieldKinds(record);
    fill(field, numbers.map((n) => h("option", { value: n }, n)));
    fill(flag, h("option", { value: "" }, "(none)"), booleans.map((n) => h("option", { value: n }, n)));
    if (booleans.includes("is_anomaly")) flag.value = "is_anomaly";
    this.draw(this.series, true); // with the fields' names
  }

  draw(series, fresh = false) {
    const { field, flag } = this.controls;
    if (fresh || !this.plot) {
      this.plot?.destroy();
      this.plot = new uPlot({
        width: Math.max(400, this.chartBox.clientWidth - 20), height: 320,
        scales: { x: { time: false } },
        axes: [{ label: "record" }, {}],
        series: [{ label: "record" },
          { label: field.value || "value", stroke: "#1d4e89", width: 1.5 },
          { label: flag.value || "marked", stroke: "#d62828", fill: "#d62828", width: 0,
            paths: () => null, points: { show: true, size: 9, fill: "#d62828", stroke: "#d62828" } }],
      }, series.data(), this.chartBox);
    } else this.plot.setData(series.data());
    this.chartBox.dataset.points = series.y.length;
    this.chartBox.dataset.marked = series.marked;
    if (series.count) this.status.textContent = `${series.count} records of ${this.controls.component.value}, ${series.marked} marked in view`;
  }
}
