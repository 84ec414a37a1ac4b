// tar.js: the files of an artifact (a gzip-compressed tar of plain files,
// docs/registry.md), read in the browser, to show its README and signature.

// Map name -> Uint8Array of the regular files at the archive's top level.
export async function readTarGz(blob) {
  const bytes = new Uint8Array(await new Response(blob.stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
  const files = new Map();
  const text = (from, length) => new TextDecoder().decode(bytes.subarray(from, from + length)).replace(/\0.*$/s, "");
  for (let at = 0; at + 512 <= bytes.length;) {
    const name = text(at, 100);
    if (!name) break; // the two zero blocks at the end
    const size = parseInt(text(at + 124, 12).trim() || "0", 8);
    const type = text(at + 156, 1);
    if (type === "" || type === "0") files.set(name, bytes.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
