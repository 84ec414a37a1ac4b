// tap-panel.js: sample records flowing out of the selected node, read from
// the running pipeline's tap (/pipelines/NAME/tap?component=X&limit=N).
import { tap } from "../ndjson.js";
import { h, fill } from "../dom.js";

const LIMIT = 20;

export class TapPanel {
  constructor(box) {
    this.box = box;
    this.controller = null;
    this.samples = new Map(); // component -> the records last seen
  }

  async open(pipeline, component) {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const list = h("ol", { class: "records", id: "tap-records" });
    const status = h("p", { class: "muted", role: "status" }, `Waiting for records from ${component}…`);
    const records = [];
    fill(this.box,
      h("h2", {}, `Tap: ${component}`),
      status, list,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => this.open(pipeline, component) }, "Again"),
        h("button", { type: "button", onclick: () => controller.abort() }, "Stop")));
    this.box.hidden = false;
    try {
      await tap(pipeline, component, {
        limit: LIMIT,
        signal: controller.signal,
        onRecord: (record) => {
          records.push(record);
          list.append(h("li", {}, h("pre", {}, JSON.stringify(record))));
          status.textContent = `${records.length} record${records.length > 1 ? "s" : ""} from ${component}`;
        },
      });
      if (records.length) this.samples.set(component, records);
      if (!records.length && !controller.signal.aborted) status.textContent = `No records came out of ${component}.`;
    } catch (err) {
      status.textContent = `Cannot tap ${component}: ${err.message}`;
      status.className = "problem";
    }
  }

  close() {
    this.controller?.abort();
    this.box.hidden = true;
  }
}
