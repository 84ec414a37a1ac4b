// dashboard.js: draws each sensor's series live. It loads the snapshot
// (/api/series), then applies the points of the event stream
// (/api/stream?since=SEQ); anomalies are a second series drawn as red
// points only, so the number of red markers is the number of flagged points.

const charts = new Map(); // key -> {t, v, anomalies, plot, pending}
const container = document.getElementById("charts");
let field = "value";
let maxPoints = 5000; // the server's max_points, from the snapshot

function anomalyColumn(series) {
  return series.v.map((v, i) => (series.a[i] ? v : null));
}

function chartWidth() {
  return Math.max(300, container.clientWidth - 40);
}

function createChart(key) {
  const box = document.createElement("section");
  box.className = "chart";
  box.dataset.key = key;
  const title = document.createElement("h2");
  title.textContent = key;
  box.append(title);
  // Charts in key order, whichever sensor speaks first.
  const next = [...container.children].find((b) => b.dataset.key.localeCompare(key) > 0);
  container.insertBefore(box, next || null);
  const plot = new uPlot({
    width: chartWidth(),
    height: 220,
    series: [
      {},
      { label: field, stroke: "#457b9d", width: 1 },
      { label: "anomaly", stroke: "#e63946", fill: "#e63946", width: 0,
        paths: () => null, points: { show: true, size: 9, fill: "#e63946", stroke: "#e63946" } },
    ],
    scales: { x: { time: true } },
  }, [[], [], []], box);
  const chart = { t: [], v: [], a: [], plot, box };
  charts.set(key, chart);
  return chart;
}

function chartOf(key) {
  return charts.get(key) || createChart(key);
}

// What is drawn is also in the DOM, as data, for tests and tools: the
// points, and the markers (the non-null values of the anomaly series).
function redraw(chart) {
  const markers = anomalyColumn(chart);
  chart.plot.setData([chart.t.map((ms) => ms / 1000), chart.v, markers]);
  chart.box.dataset.points = chart.t.length;
  chart.box.dataset.markers = markers.filter((v) => v !== null).length;
}

function updateCounts() {
  let points = 0, anomalies = 0;
  for (const c of charts.values()) {
    points += c.t.length;
    anomalies += c.a.filter(Boolean).length;
  }
  document.getElementById("sensor-count").textContent = charts.size;
  document.getElementById("point-count").textContent = points;
  document.getElementById("anomaly-count").textContent = anomalies;
}

function setStatus(text) {
  document.getElementById("status").textContent = text;
  document.body.dataset.status = text;
}

async function loadSnapshot() {
  const snapshot = await (await fetch("/api/series")).json();
  field = snapshot.field;
  maxPoints = snapshot.max_points;
  document.getElementById("field").textContent = field;
  for (const [key, s] of Object.entries(snapshot.keys)) {
    const chart = chartOf(key);
    Object.assign(chart, { t: s.t, v: s.v, a: s.a });
    redraw(chart);
  }
  updateCounts();
  return snapshot.seq;
}

// Points come in bursts: redraw once per animation frame, not per event.
const dirty = new Set();
function scheduleRedraw(chart) {
  if (dirty.size === 0) requestAnimationFrame(() => {
    for (const c of dirty) redraw(c);
    dirty.clear();
    updateCounts();
  });
  dirty.add(chart);
}

// The page keeps as many points a series as the server does.
function appendPoints(points) {
  for (const p of points) {
    const chart = chartOf(p.k);
    chart.t.push(p.t);
    chart.v.push(p.v);
    chart.a.push(p.a ? 1 : 0);
    if (chart.t.length > maxPoints) {
      chart.t.shift(); chart.v.shift(); chart.a.shift();
    }
    scheduleRedraw(chart);
  }
}

function listen(since) {
  const stream = new EventSource(`/api/stream?since=${since}`);
  stream.onopen = () => setStatus("live");
  stream.onmessage = (event) => appendPoints(JSON.parse(event.data));
  stream.addEventListener("reset", () => {
    stream.close();
    start();
  });
  stream.onerror = () => setStatus("reconnecting");
}

async function start() {
  try {
    listen(await loadSnapshot());
  } catch (err) {
    setStatus(`error: ${err.message}`);
    setTimeout(start, 2000);
  }
}

window.addEventListener("resize", () => {
  for (const c of charts.values()) c.plot.setSize({ width: chartWidth(), height: 220 });
});
start();
