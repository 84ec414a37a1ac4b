// ndjson.js: reads a streamed NDJSON answer (a pipeline's tap) record by
// record, as the lines arrive.
import { request, enc } from "./api.js";

// Calls onRecord(object) for each record that component of pipeline emits,
// until `limit` records (if given), the end of the stream, or signal aborts.
export async function tap(pipeline, component, { limit, signal, onRecord }) {
  const query = `component=${enc(component)}${limit ? `&limit=${limit}` : ""}`;
  const response = await request("GET", `pipelines/${enc(pipeline)}/tap?${query}`, { signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) if (line.trim()) onRecord(JSON.parse(line));
    }
    if (pending.trim()) onRecord(JSON.parse(pending));
  } catch (err) {
    if (err.name !== "AbortError") throw err;
  } finally {
    reader.releaseLock();
  }
}
