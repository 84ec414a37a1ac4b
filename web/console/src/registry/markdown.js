// markdown.js: an artifact's README.md as HTML (marked), cleaned by
// DOMPurify: a README comes from whoever published it, so no script,
// handler or frame of theirs may run in the console.
import { marked } from "marked";
import DOMPurify from "dompurify";

// A DocumentFragment of the rendered text.
export function renderMarkdown(text) {
  return DOMPurify.sanitize(marked.parse(text, { async: false }), { RETURN_DOM_FRAGMENT: true });
}
