// api.js: every call to the `sluice serve` REST API goes through here.
// Writes carry the token; errors become ApiError with the server's
// {"error"} message (and its "errors" list, for invalid pipelines); a 401
// is explained and the token field flagged.
import { token } from "./token.js";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

const UNAUTHORIZED = "the server refused the change: enter a valid token in the Token field at the top";

function headers(method, contentType) {
  const result = {};
  if (contentType) result["Content-Type"] = contentType;
  if (method !== "GET" && token()) result.Authorization = `Bearer ${token()}`;
  return result;
}

async function failure(response) {
  let body = {};
  try {
    body = await response.json();
  } catch { /* not JSON */ }
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent("sluice:unauthorized"));
    return new ApiError(401, `${UNAUTHORIZED} (${body.error || "401 Unauthorized"})`, body);
  }
  return new ApiError(response.status, body.error || `${response.status} ${response.statusText}`, body);
}

// The raw response of METHOD /api/v1/PATH, after checking its status.
// body: a string, Blob or object (sent as JSON).
export async function request(method, path, { body, contentType, signal } = {}) {
  if (body !== undefined && typeof body === "object" && !(body instanceof Blob)) {
    body = JSON.stringify(body);
    contentType = "application/json";
  }
  const response = await fetch(`/api/v1/${path}`, {
    method, body, signal, headers: headers(method, contentType),
  });
  if (!response.ok) throw await failure(response);
  return response;
}

// The parsed JSON answer of METHOD /api/v1/PATH.
export async function api(method, path, options) {
  const response = await request(method, path, options);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

// PATH segments escaped for a URL.
export const enc = encodeURIComponent;
