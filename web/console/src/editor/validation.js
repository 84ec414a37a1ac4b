// validation.js: live validation. The YAML is sent to POST /api/v1/validate
// shortly after the last edit; the problems come back as {line, column,
// component, message} and are shown on their nodes, or in the problems
// panel when they concern no one component. Only the newest answer counts.
import { api, ApiError } from "../api.js";
import { h, fill, debounce } from "../dom.js";

export class Validator {
  // show(problems) receives each answer (a list, empty when valid).
  constructor(show, delay = 400) {
    this.show = show;
    this.sequence = 0;
    this.schedule = debounce((text) => this.run(text), delay);
  }

  async run(text) {
    const mine = ++this.sequence;
    try {
      const answer = await api("POST", "validate", { body: text, contentType: "application/yaml" });
      if (mine === this.sequence) this.show(answer.errors || []);
    } catch (err) {
      if (mine !== this.sequence) return;
      const message = err instanceof ApiError ? err.message : `cannot validate: ${err.message}`;
      this.show([{ line: null, column: null, component: null, message }]);
    }
  }

  // Problems found before asking the server (YAML syntax): shown at once,
  // and any answer still on its way is ignored.
  local(problems) {
    this.sequence++;
    this.show(problems);
  }
}

// Splits problems by component name (those naming a drawn component) and
// lists the rest in `panel`. Returns Map name -> [message].
export function placeProblems(problems, names, panel) {
  const byNode = new Map();
  const general = [];
  for (const p of problems) {
    if (p.component && names.has(p.component)) {
      if (!byNode.has(p.component)) byNode.set(p.component, []);
      byNode.get(p.component).push(p.message);
    } else general.push(p);
  }
  panel.dataset.count = problems.length;
  fill(panel, problems.length === 0
    ? h("p", { class: "ok" }, "Valid pipeline.")
    : [
      h("p", { class: "problem" }, `${problems.length} problem${problems.length > 1 ? "s" : ""}`),
      h("ul", {}, general.map((p) => h("li", {},
        p.line ? h("span", { class: "where" }, `${p.line}:${p.column ?? 1} `) : null, p.message))),
    ]);
  return byNode;
}
