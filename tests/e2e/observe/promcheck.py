#!/usr/bin/env python3
"""promcheck.py PAGE [COMPONENT=KIND ...]: checks a /metrics page against
the Prometheus text exposition format 0.0.4 and against what Sluice
promises. Every line must be a HELP or TYPE comment or a sample that
follows the grammar; a family's TYPE comes before its samples, which are
together; histograms have ascending buckets with cumulative counts, a +Inf
bucket equal to _count, and a _sum. Each COMPONENT must have a sample in
every per-component family. Prints each problem and exits 1 if any."""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
VALUE = r"(?:NaN|[+-]?Inf|[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*,?)?\}})? ({VALUE})(?: -?[0-9]+)?$")
HELP = re.compile(rf"^# HELP ({NAME}) (?:[^\\\n]|\\[\\n])*$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

EVERY = ["records_in_total", "records_out_total", "bytes_in_total",
         "bytes_out_total", "errors_total"]


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return name


def main():
    page = open(sys.argv[1]).read()
    wanted = dict(arg.split("=", 1) for arg in sys.argv[2:])
    problems = []
    types, done, current = {}, set(), None
    samples = {}   # family -> list of (name, labels, value)
    for n, line in enumerate(page.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = TYPE.match(line)
            if m:
                if m.group(1) in types:
                    problems.append(f"line {n}: a second TYPE for {m.group(1)}")
                types[m.group(1)] = m.group(2)
            elif not HELP.match(line):
                problems.append(f"line {n}: a bad comment: {line}")
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append(f"line {n}: not a sample: {line}")
            continue
        family = family_of(m.group(1), types)
        if family not in types:
            problems.append(f"line {n}: a sample of {family} before its TYPE")
        if family != current:
            if family in done:
                problems.append(f"line {n}: the samples of {family} are not together")
            done.add(family)
            current = family
        labels = dict(LABEL_PAIR.findall(m.group(2) or ""))
        samples.setdefault(family, []).append((m.group(1), labels, float(m.group(3))))
    if not page.endswith("\n"):
        problems.append("the page does not end with a newline")

    def components(family):
        return {s[1].get("component"): s[1].get("kind") for s in samples.get(family, [])}

    for f in EVERY:
        got = components("sluice_" + f)
        for c, kind in wanted.items():
            if got.get(c) != kind:
                problems.append(f"sluice_{f} lacks component={c},kind={kind}")
        if types.get("sluice_" + f) != "counter":
            problems.append(f"sluice_{f} is not a counter")
    if types.get("sluice_queue_depth") != "gauge":
        problems.append("sluice_queue_depth is not a gauge")
    for c, kind in wanted.items():
        if kind != "source" and c not in components("sluice_queue_depth"):
            problems.append(f"sluice_queue_depth lacks {c}")
    for f in ("sluice_function_fuel_total", "sluice_function_traps_total"):
        if types.get(f) != "counter":
            problems.append(f"{f} is not a counter")
    h = "sluice_function_call_duration_seconds"
    if types.get(h) != "histogram":
        problems.append(f"{h} is not a histogram")
    by_component = {}
    for name, labels, value in samples.get(h, []):
        by_component.setdefault(labels.get("component"), []).append((name, labels, value))
    for c, rows in by_component.items():
        buckets = [(float(l["le"]), v) for n, l, v in rows if n == h + "_bucket"]
        count = [v for n, l, v in rows if n == h + "_count"]
        if not buckets or buckets[-1][0] != float("inf"):
            problems.append(f"{h} of {c}: no +Inf bucket")
        if buckets != sorted(buckets) or [b[1] for b in buckets] != sorted(b[1] for b in buckets):
            problems.append(f"{h} of {c}: buckets not ascending and cumulative")
        if len(count) != 1 or not buckets or count[0] != buckets[-1][1]:
            problems.append(f"{h} of {c}: _count is not the +Inf bucket")
        if not any(n == h + "_sum" for n, l, v in rows):
            problems.append(f"{h} of {c}: no _sum")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


main()
