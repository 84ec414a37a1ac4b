// notice.js: the one status line under the header (an ARIA live region),
// where every view reports what it did or what went wrong.

const box = () => document.getElementById("notice");
let timer;

// kind: "info" (fades after a while) or "error" (stays until replaced).
export function notify(message, kind = "info") {
  const el = box();
  el.textContent = message;
  el.className = kind;
  el.hidden = false;
  clearTimeout(timer);
  if (kind === "info") timer = setTimeout(() => { el.hidden = true; }, 6000);
}
