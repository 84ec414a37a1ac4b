// upload.js: publishing an artifact from the console: a drop zone for a
// .tar.gz (from `sluice fn package`), with a file input as the keyboard
// and fallback way; sent to POST /api/v1/artifacts with the token.
import { api } from "../api.js";
import { h } from "../dom.js";
import { notify } from "../notice.js";

// onPublished(metadata) after a successful upload.
export function uploadZone(onPublished) {
  const input = h("input", { type: "file", id: "upload-file", accept: ".tar.gz,.tgz,application/gzip",
    onchange: () => input.files[0] && send(input.files[0]) });
  const status = h("p", { class: "muted", id: "upload-status", role: "status" },
    "Drop an artifact (.tar.gz from `sluice fn package`) here to publish it.");
  const zone = h("div", { class: "dropzone", id: "dropzone" },
    status, h("label", { for: "upload-file" }, "or choose a file: "), input);

  async function send(file) {
    if (!/\.(tar\.gz|tgz)$/.test(file.name)) {
      status.textContent = `${file.name} is not a .tar.gz artifact.`;
      return;
    }
    status.textContent = `Publishing ${file.name}…`;
    try {
      const meta = await api("POST", "artifacts", { body: file, contentType: "application/gzip" });
      status.textContent = `Published ${meta.name}@${meta.version}.`;
      notify(`Published ${meta.name}@${meta.version}.`);
      onPublished(meta);
    } catch (err) {
      status.textContent = `Cannot publish ${file.name}: ${err.message}`;
      notify(`Cannot publish ${file.name}: ${err.message}`, "error");
    } finally {
      input.value = "";
    }
  }

  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) send(file);
  });
  return zone;
}
