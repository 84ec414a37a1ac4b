// series.js: the points a live chart shows: the last `capacity` values of
// a field, numbered as they arrived, with the flagged ones repeated in a
// second column (null elsewhere) that uPlot draws as markers only.

export class Series {
  constructor(capacity = 600) {
    this.capacity = capacity;
    this.count = 0;
    this.x = [];
    this.y = [];
    this.marks = [];
  }

  // Adds the record's `field` (skipped unless a number), marked when its
  // `flag` field is true.
  add(record, field, flag) {
    const value = record[field];
    if (typeof value !== "number" || !Number.isFinite(value)) return false;
    this.count += 1;
    this.x.push(this.count);
    this.y.push(value);
    this.marks.push(flag && record[flag] === true ? value : null);
    if (this.x.length > this.capacity) {
      this.x.shift();
      this.y.shift();
      this.marks.shift();
    }
    return true;
  }

  get marked() {
    return this.marks.filter((m) => m !== null).length;
  }

  data() {
    return [this.x, this.y, this.marks];
  }
}

// The record's fields whose values are numbers, and those that are
// booleans.
export function fieldKinds(record) {
  const entries = Object.entries(record);
  return {
    numbers: entries.filter(([, v]) => typeof v === "number").map(([k]) => k),
    booleans: entries.filter(([, v]) => typeof v === "boolean").map(([k]) => k),
  };
}
