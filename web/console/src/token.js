// token.js: the write token, typed in the header field and kept in
// localStorage; api.js sends it as `Authorization: Bearer TOKEN`.

const KEY = "sluice.token";

export function token() {
  return localStorage.getItem(KEY) || "";
}

// Wires the header field: loads the stored token, stores what is typed, and
// flags the field when the server refuses a change for want of a token.
export function setupTokenField(input) {
  input.value = token();
  input.addEventListener("input", () => {
    localStorage.setItem(KEY, input.value.trim());
    input.removeAttribute("aria-invalid");
  });
  input.form.addEventListener("submit", (e) => e.preventDefault());
  window.addEventListener("sluice:unauthorized", () => input.setAttribute("aria-invalid", "true"));
}
