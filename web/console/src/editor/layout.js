// layout.js: where nodes go on the canvas. A graph read from YAML is laid
// out by depth (sources in the first column, then each component one
// column right of its deepest input); nodes the user placed keep their
// place.

const COLUMN = 280;
const ROW = 150;
const MARGIN = 40;

// Depth of each component: 0 for those without inputs, else 1 + the
// deepest input (inputs that name no component, and cycles, count as 0).
export function depths(components) {
  const byName = new Map(components.map((c) => [c.name, c]));
  const memo = new Map();
  const depth = (name, seen) => {
    if (memo.has(name)) return memo.get(name);
    const c = byName.get(name);
    if (!c || seen.has(name)) return -1;
    seen.add(name);
    const d = 1 + Math.max(-1, ...c.inputs.map((i) => depth(i.replace(/\.errors$/, ""), seen)));
    seen.delete(name);
    memo.set(name, d);
    return d;
  };
  return new Map(components.map((c) => [c.name, depth(c.name, new Set())]));
}

// Gives a position to every component of `components` that has none in
// `positions` (a Map name -> {x, y}), below what is already in its column.
export function place(components, positions) {
  const d = depths(components);
  const bottom = columnBottoms(positions);
  for (const c of components) {
    if (positions.has(c.name)) continue;
    const column = d.get(c.name);
    const y = bottom.get(column) ?? MARGIN;
    positions.set(c.name, { x: MARGIN + column * COLUMN, y });
    bottom.set(column, y + ROW);
  }
  return positions;
}

// A place for a new, unconnected component: sources in the first column,
// transforms in the second, sinks in the third, below what is there.
export function placeNew(kind, positions) {
  const column = { source: 0, transform: 1, sink: 2 }[kind];
  return { x: MARGIN + column * COLUMN, y: columnBottoms(positions).get(column) ?? MARGIN };
}

// Column -> the first free y below its nodes.
function columnBottoms(positions) {
  const bottom = new Map();
  for (const p of positions.values()) {
    const column = Math.round((p.x - MARGIN) / COLUMN);
    bottom.set(column, Math.max(bottom.get(column) ?? MARGIN, p.y + ROW));
  }
  return bottom;
}
