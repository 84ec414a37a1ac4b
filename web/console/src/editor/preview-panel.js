// preview-panel.js: runs the selected function node on sample records
// (editable JSON) with POST /api/v1/preview, and shows what it returned
// and logged, or why it failed.
import { api } from "../api.js";
import { h, fill, uid } from "../dom.js";

const EXAMPLE = [{ value: 1 }, { value: 150 }];

// component: the function node (its artifact and config are used);
// samples: records seen at its input, if any, to start from.
export function showPreview(box, component, samples) {
  const id = uid("records");
  const records = h("textarea", { id, rows: 8, spellcheck: false,
    value: JSON.stringify(samples?.length ? samples.slice(0, 5) : EXAMPLE, null, 1) });
  const output = h("div", { class: "preview-output", id: "preview-output", role: "status" });
  const run = async () => {
    let input;
    try {
      input = JSON.parse(records.value);
      if (!Array.isArray(input)) throw new Error("give a JSON array of records");
    } catch (err) {
      fill(output, h("p", { class: "problem" }, `Records: ${err.message}`));
      return;
    }
    const { artifact, module, config } = component.settings;
    if (!artifact) {
      fill(output, h("p", { class: "problem" },
        module ? "Preview runs registry functions: set `artifact` instead of `module`." : "Set the node's `artifact` first."));
      return;
    }
    fill(output, h("p", { class: "muted" }, "Running…"));
    try {
      const answer = await api("POST", "preview", { body: { artifact, config: config ?? {}, records: input } });
      fill(output,
        h("h3", {}, `Output (${answer.records.length} records)`),
        h("pre", { class: "preview-records" }, answer.records.map((r) => JSON.stringify(r)).join("\n")),
        answer.logs?.length ? [h("h3", {}, "Logs"), h("pre", {}, answer.logs.map(asText).join("\n"))] : null);
    } catch (err) {
      fill(output, h("p", { class: "problem preview-error" }, err.message));
    }
  };
  fill(box,
    h("h2", {}, `Preview: ${component.name}`),
    h("label", { for: id }, "Input records (JSON array)"), records,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", id: "preview-run", onclick: run }, "Run"),
      h("button", { type: "button", onclick: () => { box.hidden = true; } }, "Close")),
    output);
  box.hidden = false;
}

function asText(line) {
  return typeof line === "string" ? line : JSON.stringify(line);
}
