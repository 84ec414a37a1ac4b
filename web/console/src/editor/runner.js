// runner.js: the pipeline bar of the editor: its name, opening a saved
// pipeline, Save, Deploy (save and start), Stop, Delete and the logs; and
// while the pipeline runs, its state and stats polled every second.
import { api, request, enc, ApiError } from "../api.js";
import { h, fill } from "../dom.js";
import { notify } from "../notice.js";

export class Runner {
  // hooks: yaml() the text to save; open(name, yaml) loads a saved one;
  // stats(answer | null) each second; rejected(problems) when a save is
  // refused as invalid.
  constructor(box, hooks) {
    this.hooks = hooks;
    this.state = null; // of the pipeline named in the name field, null if not saved
    this.name = h("input", { id: "pipeline-name", type: "text", value: "my-pipeline", required: true,
      pattern: "[A-Za-z0-9_\\-]+", "aria-label": "Pipeline name" });
    this.saved = h("select", { id: "pipeline-open", "aria-label": "Open a saved pipeline",
      onchange: (e) => { if (e.target.value) this.open(e.target.value); e.target.value = ""; } });
    this.badge = h("span", { id: "pipeline-state", class: "state", role: "status" }, "not saved");
    this.logs = h("pre", { id: "pipeline-logs", class: "logs", hidden: true, tabindex: "0" });
    const button = (label, action, attrs = {}) => h("button", { type: "button", onclick: action, ...attrs }, label);
    fill(box,
      h("label", { for: "pipeline-name" }, "Pipeline"), this.name, this.saved,
      button("Save", () => this.save(), { id: "save" }),
      button("Deploy", () => this.deploy(), { id: "deploy", class: "primary" }),
      button("Stop", () => this.stop(), { id: "stop" }),
      button("Logs", () => this.toggleLogs(), { id: "logs", "aria-controls": "pipeline-logs" }),
      button("Delete", () => this.remove(), { id: "delete-pipeline", class: "danger" }),
      this.badge);
    box.after(this.logs);
    this.poll();
  }

  get pipeline() {
    return this.name.value.trim();
  }

  async poll() {
    try {
      await this.refresh();
    } catch { /* the server is away: try again */ }
    setTimeout(() => this.poll(), 1000);
  }

  async refresh() {
    const list = await api("GET", "pipelines");
    const current = list.find((p) => p.name === this.pipeline);
    this.state = current?.state ?? null;
    this.showState(current);
    const names = list.map((p) => p.name).join("\n");
    if (names !== this.saved.dataset.names) {
      this.saved.dataset.names = names;
      fill(this.saved, h("option", { value: "" }, "Open…"), list.map((p) => h("option", { value: p.name }, p.name)));
    }
    this.hooks.stats(this.state === "running"
      ? await api("GET", `pipelines/${enc(this.pipeline)}/stats`) : null);
    if (!this.logs.hidden) await this.loadLogs();
  }

  showState(p) {
    const text = !p ? "not saved" : p.state === "failed" && p.error ? `failed: ${p.error}` : p.state;
    this.badge.textContent = text;
    this.badge.dataset.state = p?.state ?? "none";
  }

  async open(name) {
    const p = await this.run(() => api("GET", `pipelines/${enc(name)}`));
    if (!p) return;
    this.name.value = name;
    this.hooks.open(name, p.yaml);
    this.showState(p);
  }

  // PUT; false if refused (invalid: the problems go to the editor).
  async save() {
    if (!this.name.reportValidity()) return false;
    try {
      await api("PUT", `pipelines/${enc(this.pipeline)}`, { body: this.hooks.yaml(), contentType: "application/yaml" });
      notify(`Saved ${this.pipeline}.`);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.body?.errors) this.hooks.rejected(err.body.errors);
      notify(`Cannot save ${this.pipeline}: ${err.message}`, "error");
      return false;
    }
  }

  async deploy() {
    if (!(await this.save())) return;
    const list = await this.run(() => api("GET", "pipelines"));
    const state = list?.find((p) => p.name === this.pipeline)?.state;
    if (state === "running" || state === "starting") {
      notify(`Redeployed ${this.pipeline}.`);
    } else if (await this.run(() => api("POST", `pipelines/${enc(this.pipeline)}/start`))) {
      notify(`Started ${this.pipeline}.`);
    }
    this.refresh().catch(() => {});
  }

  async stop() {
    if (await this.run(() => api("POST", `pipelines/${enc(this.pipeline)}/stop`))) notify(`Stopped ${this.pipeline}.`);
  }

  async remove() {
    if (!confirm(`Delete the pipeline ${this.pipeline} from the server?`)) return;
    if (await this.run(() => api("DELETE", `pipelines/${enc(this.pipeline)}`))) notify(`Deleted ${this.pipeline}.`);
  }

  async toggleLogs() {
    this.logs.hidden = !this.logs.hidden;
    if (!this.logs.hidden) await this.loadLogs();
  }

  async loadLogs() {
    try {
      const text = await (await request("GET", `pipelines/${enc(this.pipeline)}/logs`)).text();
      this.logs.textContent = text || "(no logs yet)";
    } catch (err) {
      this.logs.textContent = err.message;
    }
  }

  // Runs an API call, reporting a failure; its answer, or null.
  async run(call) {
    try {
      return (await call()) ?? true;
    } catch (err) {
      notify(err.message, "error");
      return null;
    }
  }
}
