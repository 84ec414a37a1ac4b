// registry.js: the registry browser: artifacts listed and searched, one
// artifact's versions, a version's metadata, manifest, README, signature
// and download link, yank and unyank, and publishing by upload.
import { stringify as toYaml } from "yaml";
import { api, request, enc } from "../api.js";
import { h, fill, debounce } from "../dom.js";
import { notify } from "../notice.js";
import { uploadZone } from "./upload.js";
import { readTarGz } from "./tar.js";
import { renderMarkdown } from "./markdown.js";

export class Registry {
  constructor(view) {
    this.search = h("input", { type: "search", id: "registry-search", placeholder: "name or description",
      "aria-label": "Search artifacts", oninput: debounce(() => this.list(), 250) });
    this.listBox = h("div", { id: "artifact-list", "aria-live": "polite" });
    this.details = h("section", { id: "artifact-details", class: "panel", "aria-label": "Artifact" });
    view.append(
      h("div", { class: "registry" },
        h("div", {},
          uploadZone((meta) => { this.changed(); this.show(meta.name, meta.version); }),
          h("div", { class: "search" }, this.search),
          this.listBox),
        this.details));
    fill(this.details, h("p", { class: "muted" }, "Choose an artifact to see its versions."));
  }

  changed() {
    window.dispatchEvent(new CustomEvent("sluice:artifacts-changed"));
    this.list();
  }

  async list() {
    const q = this.search.value.trim();
    try {
      const { artifacts = [] } = await api("GET", `artifacts${q ? `?q=${enc(q)}` : ""}`);
      fill(this.listBox, artifacts.length === 0
        ? h("p", { class: "muted" }, q ? `Nothing matches '${q}'.` : "No artifact published yet.")
        : h("table", { class: "artifacts" },
          h("thead", {}, h("tr", {}, ["Name", "Latest", "Description", "Language", "Signed"].map((t) => h("th", {}, t)))),
          h("tbody", {}, artifacts.map((a) => h("tr", { dataset: { name: a.name } },
            h("td", {}, h("button", { type: "button", class: "link", onclick: () => this.show(a.name) }, a.name)),
            h("td", { class: "version" }, a.latest ?? ""),
            h("td", {}, a.description ?? ""),
            h("td", {}, a.language ?? ""),
            h("td", {}, a.signer ? "yes" : "no"))))));
    } catch (err) {
      fill(this.listBox, h("p", { class: "problem" }, `Cannot list the artifacts: ${err.message}`));
    }
  }

  // An artifact's versions, and one of them in full (default: the newest).
  async show(name, version) {
    try {
      const { versions } = await api("GET", `artifacts/${enc(name)}`);
      const chosen = version ?? versions[0]?.version;
      fill(this.details,
        h("h2", {}, name),
        h("h3", {}, "Versions"),
        h("ul", { class: "versions" }, versions.map((v) => h("li", { class: v.version === chosen ? "current" : "", dataset: { version: v.version } },
          h("button", { type: "button", class: "link", onclick: () => this.show(name, v.version) }, v.version),
          v.yanked && h("span", { class: "badge yanked" }, "yanked"),
          h("span", { class: "muted" }, ` ${v.published_at ?? ""}`),
          h("button", { type: "button", class: "small",
            onclick: () => this.yank(name, v.version, !v.yanked) }, v.yanked ? "Unyank" : "Yank")))),
        chosen && await this.version(name, chosen));
    } catch (err) {
      fill(this.details, h("p", { class: "problem" }, `Cannot read ${name}: ${err.message}`));
    }
  }

  async version(name, version) {
    const meta = await api("GET", `artifacts/${enc(name)}/${enc(version)}`);
    const readme = h("div", { class: "readme", id: "artifact-readme" }, h("p", { class: "muted" }, "Reading the archive…"));
    const signature = h("dd", { id: "artifact-signature" }, meta.signer ? `ed25519, signer ${meta.signer}` : "unsigned");
    this.readArchive(meta, readme, signature);
    const row = (term, value) => [h("dt", {}, term), h("dd", {}, value ?? "")];
    return h("article", { class: "version-details", dataset: { version } },
      h("h3", {}, `${name}@${version}`, meta.yanked ? h("span", { class: "badge yanked" }, "yanked") : null),
      h("p", {}, meta.description ?? ""),
      h("dl", {},
        row("Digest", h("code", {}, meta.digest)),
        row("Size", `${meta.size} bytes`),
        row("Language", meta.language), row("License", meta.license),
        row("Publisher", meta.publisher), row("Published", meta.published_at),
        h("dt", {}, "Signature"), signature),
      h("p", {}, h("a", { href: meta.download, download: `${name}-${version}.tar.gz`, id: "artifact-download" }, "Download the archive")),
      h("h3", {}, "Manifest"),
      h("pre", { class: "manifest", id: "artifact-manifest" }, toYaml(meta.manifest ?? {})),
      h("h3", {}, "README"), readme);
  }

  // README.md and the signature line, from the archive itself.
  async readArchive(meta, readme, signature) {
    try {
      const files = await readTarGz(await (await fetch(meta.download)).blob());
      const text = (name) => files.has(name) ? new TextDecoder().decode(files.get(name)) : null;
      const md = text("README.md");
      fill(readme, md ? renderMarkdown(md) : h("p", { class: "muted" }, "No README."));
      const line = text("signature");
      if (line) {
        const [, key, sig] = line.trim().split(/\s+/);
        fill(signature, `ed25519 by ${key} (signature ${sig.slice(0, 16)}…; checked by the registry at upload)`);
      }
    } catch (err) {
      fill(readme, h("p", { class: "problem" }, `Cannot read the archive: ${err.message}`));
    }
  }

  async yank(name, version, yank) {
    try {
      await request("POST", `artifacts/${enc(name)}/${enc(version)}/${yank ? "yank" : "unyank"}`);
      notify(`${yank ? "Yanked" : "Unyanked"} ${name}@${version}.`);
      this.changed();
      this.show(name, version);
    } catch (err) {
      notify(`Cannot ${yank ? "yank" : "unyank"} ${name}@${version}: ${err.message}`, "error");
    }
  }
}
