#!/usr/bin/env python3
"""Turn a `make bench` result file into a Markdown report and PNG plots.

Usage:
    python bench/report.py bench/results/latest.json [--out DIR]
                           [--readme README.md] [--no-plots]

Writes, in DIR (default: the JSON file's directory):
    report.md                  tables per session count, targets, plot links
    memory_per_session.png     memory_per_session_erlang by system
    memory_per_session_rss.png memory_per_session_rss (when measured)
    throughput.png             starts/s and the cast metrics by system
    latency.png                call p50 / p99 by system

With --readme FILE, the lines between `<!-- bench:begin -->` and
`<!-- bench:end -->` in FILE are replaced by a short performance section
(the table at the largest session count, the machine, the date, links to the
report and the plots). Without both markers FILE is left alone (a warning).

The input is the schema-1 JSON written by the Erlang benchmark: a top-level
object with `metrics` (a list of {metric, system, sessions, value, unit,
better, ratio_vs_gen_statem, note}), and optionally `schema`,
`generated_at`, `quick`, `machine` and `targets`. Missing metrics and systems
are fine; a malformed file exits with status 1 and a message on stderr.

Python 3.11, standard library plus matplotlib (only for the plots).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

SCHEMA = 1
BEGIN_MARKER = "<!-- bench:begin -->"
END_MARKER = "<!-- bench:end -->"
README_HEADING = "### Benchmark results"

BASELINE = "gen_statem"

# Known systems, in display order.
SYSTEMS: dict[str, str] = {
    "gen_statem": "gen_statem",
    "throng_callback_nif": "Throng callback module (NIF)",
    "throng_native_nif": "Throng native (NIF)",
    "throng_native_port": "Throng native (port)",
}
SYSTEM_COLOURS: dict[str, str] = {
    "gen_statem": "#8c8c8c",
    "throng_callback_nif": "#4c72b0",
    "throng_native_nif": "#55a868",
    "throng_native_port": "#dd8452",
}
EXTRA_COLOURS = ["#8172b3", "#c44e52", "#937860", "#da8bc3", "#64b5cd", "#ccb974"]

# Known metrics, in display order: (label, default unit, default "better").
METRICS: dict[str, tuple[str, str, str]] = {
    "memory_per_session_erlang": ("memory per session, Erlang", "B", "lower"),
    "memory_per_session_rss": ("memory per session, RSS", "B", "lower"),
    "starts_per_s": ("session starts per second", "1/s", "higher"),
    "casts_per_s_1_driver": ("casts per second, 1 driver", "1/s", "higher"),
    "casts_per_s_2_drivers": ("casts per second, 2 drivers", "1/s", "higher"),
    "cast_many_per_s_1_driver": ("batched casts per second, 1 driver", "1/s", "higher"),
    "cast_many_per_s_2_drivers": ("batched casts per second, 2 drivers", "1/s", "higher"),
    "call_p50_us": ("call round trip p50", "us", "lower"),
    "call_p99_us": ("call round trip p99", "us", "lower"),
    "timer_memory_per_timeout": ("memory per armed time-out", "B", "lower"),
    "timeout_lateness_p50_ms": ("time-out lateness p50", "ms", "lower"),
    "timeout_lateness_p99_ms": ("time-out lateness p99", "ms", "lower"),
}

THROUGHPUT_METRICS = [
    "starts_per_s",
    "casts_per_s_1_driver",
    "casts_per_s_2_drivers",
    "cast_many_per_s_1_driver",
    "cast_many_per_s_2_drivers",
]
THROUGHPUT_TITLES = {
    "starts_per_s": ("Session starts", "starts / s"),
    "casts_per_s_1_driver": ("Casts, 1 driver", "casts / s"),
    "casts_per_s_2_drivers": ("Casts, 2 drivers", "casts / s"),
    "cast_many_per_s_1_driver": ("Batched casts (cast_many), 1 driver", "casts / s"),
    "cast_many_per_s_2_drivers": ("Batched casts (cast_many), 2 drivers", "casts / s"),
}

PLOT_MEMORY = "memory_per_session.png"
PLOT_RSS = "memory_per_session_rss.png"
PLOT_THROUGHPUT = "throughput.png"
PLOT_LATENCY = "latency.png"
PLOT_CAPTIONS = {
    PLOT_MEMORY: "Memory per session (Erlang)",
    PLOT_RSS: "Memory per session (RSS)",
    PLOT_THROUGHPUT: "Throughput",
    PLOT_LATENCY: "Call latency",
}


class InputError(Exception):
    """The result file cannot be used."""


def warn(message: str) -> None:
    print(f"report.py: warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Loading and validation


@dataclass(frozen=True)
class Entry:
    metric: str
    system: str
    sessions: int
    value: float | None
    unit: str
    better: str
    ratio: float | None
    note: str | None


@dataclass
class Target:
    metric: str
    system: str
    ratio: float
    compare: str
    sessions: int | None


@dataclass
class Bench:
    generated_at: str | None
    quick: bool
    machine: dict[str, Any]
    targets: list[Target]
    entries: dict[tuple[str, str, int], Entry] = field(default_factory=dict)

    def sessions(self) -> list[int]:
        return sorted({s for (_, _, s) in self.entries})

    def systems(self) -> list[str]:
        seen = {sy for (_, sy, _) in self.entries}
        known = [s for s in SYSTEMS if s in seen]
        return known + sorted(seen - set(SYSTEMS))

    def metrics(self) -> list[str]:
        seen = {m for (m, _, _) in self.entries}
        known = [m for m in METRICS if m in seen]
        return known + sorted(seen - set(METRICS))

    def get(self, metric: str, system: str, sessions: int) -> Entry | None:
        return self.entries.get((metric, system, sessions))

    def unit(self, metric: str) -> str:
        for (m, _, _), e in self.entries.items():
            if m == metric and e.unit:
                return e.unit
        return METRICS.get(metric, ("", "", ""))[1]

    def better(self, metric: str) -> str:
        for (m, _, _), e in self.entries.items():
            if m == metric and e.better:
                return e.better
        return METRICS.get(metric, ("", "", ""))[2]


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _number_or_none(x: Any, where: str) -> float | None:
    if x is None:
        return None
    if not _is_number(x):
        raise InputError(f"{where}: expected a number or null, got {x!r}")
    if not math.isfinite(x):
        warn(f"{where}: {x!r} is not a finite number; treated as missing")
        return None
    return float(x)


def _positive_int(x: Any, where: str) -> int:
    if _is_number(x) and math.isfinite(x) and x == int(x) and x > 0:
        return int(x)
    raise InputError(f"{where}: expected a positive integer, got {x!r}")


def _string(x: Any, where: str, required: bool = True) -> str | None:
    if x is None and not required:
        return None
    if not isinstance(x, str) or (required and not x):
        raise InputError(f"{where}: expected a non-empty string, got {x!r}")
    return x


def load(path: str) -> Bench:
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    return parse(raw, path)


def parse(raw: Any, path: str = "<input>") -> Bench:
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")

    schema = raw.get("schema", SCHEMA)
    if not _is_number(schema):
        raise InputError(f"{path}: schema: expected a number, got {schema!r}")
    if schema != SCHEMA:
        warn(f"{path}: schema {schema!r}, this script reads schema {SCHEMA}; "
             "carrying on")

    generated_at = raw.get("generated_at")
    if generated_at is not None and not isinstance(generated_at, str):
        raise InputError(f"{path}: generated_at: expected a string, "
                         f"got {generated_at!r}")

    quick = raw.get("quick", False)
    if quick is None:
        quick = False
    if not isinstance(quick, bool):
        raise InputError(f"{path}: quick: expected true or false, got {quick!r}")

    machine = raw.get("machine") or {}
    if not isinstance(machine, dict):
        raise InputError(f"{path}: machine: expected an object, got {machine!r}")

    metrics = raw.get("metrics")
    if metrics is None:
        raise InputError(f"{path}: no 'metrics' list")
    if not isinstance(metrics, list):
        raise InputError(f"{path}: metrics: expected a list, got "
                         f"{type(metrics).__name__}")

    bench = Bench(generated_at=generated_at, quick=quick, machine=machine,
                  targets=[])
    for i, item in enumerate(metrics):
        where = f"{path}: metrics[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected an object, got {item!r}")
        metric = _string(item.get("metric"), f"{where}.metric")
        system = _string(item.get("system"), f"{where}.system")
        sessions = _positive_int(item.get("sessions"), f"{where}.sessions")
        value = _number_or_none(item.get("value"), f"{where}.value")
        unit = _string(item.get("unit"), f"{where}.unit", required=False) or ""
        better = _string(item.get("better"), f"{where}.better", required=False) or ""
        if better and better not in ("lower", "higher"):
            warn(f"{where}.better: {better!r} is neither 'lower' nor 'higher'")
        ratio = _number_or_none(item.get("ratio_vs_gen_statem"),
                                f"{where}.ratio_vs_gen_statem")
        note = _string(item.get("note"), f"{where}.note", required=False) or None
        key = (metric, system, sessions)
        if key in bench.entries:
            warn(f"{where}: a second {metric} for {system} at {sessions} "
                 "sessions; the last one is used")
        bench.entries[key] = Entry(metric, system, sessions, value, unit,
                                   better, ratio, note)

    targets = raw.get("targets") or []
    if not isinstance(targets, list):
        raise InputError(f"{path}: targets: expected a list, got "
                         f"{type(targets).__name__}")
    for i, item in enumerate(targets):
        where = f"{path}: targets[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected an object, got {item!r}")
        ratio = _number_or_none(item.get("ratio"), f"{where}.ratio")
        if ratio is None:
            raise InputError(f"{where}.ratio: expected a number")
        compare = _string(item.get("compare"), f"{where}.compare")
        if compare not in ("<=", ">=", "<", ">"):
            raise InputError(f"{where}.compare: expected '<=' or '>=', "
                             f"got {compare!r}")
        sessions = item.get("sessions")
        bench.targets.append(Target(
            metric=_string(item.get("metric"), f"{where}.metric"),
            system=_string(item.get("system"), f"{where}.system"),
            ratio=ratio,
            compare=compare,
            sessions=None if sessions is None
            else _positive_int(sessions, f"{where}.sessions"),
        ))

    if not bench.entries:
        warn(f"{path}: the metrics list is empty")
    return bench


# ---------------------------------------------------------------------------
# Formatting


def _trim(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def number(x: float) -> str:
    """About three significant figures, thousands separated."""
    a = abs(x)
    if a >= 100 or a == 0:
        return f"{x:,.0f}"
    if a >= 10:
        return _trim(f"{x:.1f}")
    if a >= 1:
        return _trim(f"{x:.2f}")
    return _trim(f"{x:.3g}")


def fmt_bytes(x: float) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if abs(x) >= scale:
            return f"{number(x / scale)} {unit}"
    return f"{number(x)} B"


def fmt_rate(x: float, suffix: str = "/s") -> str:
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{number(x / scale)} {prefix}{suffix}"
    return f"{number(x)}{suffix}"


TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0}


def fmt_seconds(seconds: float) -> str:
    a = abs(seconds)
    if a == 0:
        return "0 s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if a >= scale:
            return f"{number(seconds / scale)} {unit}"
    return f"{number(seconds / 1e-9)} ns"


def fmt_value(x: float | None, unit: str) -> str:
    if x is None:
        return "n/a"
    if unit == "B":
        return fmt_bytes(x)
    if unit in ("1/s", "/s"):
        return fmt_rate(x)
    if unit in TIME_UNITS:
        return fmt_seconds(x * TIME_UNITS[unit])
    return f"{number(x)} {unit}".rstrip()


def fmt_ratio(r: float | None) -> str:
    """×2.6 for a ratio above one half, 1/21 below (value / gen_statem's)."""
    if r is None:
        return ""
    if r <= 0:
        # A growth at or below zero (RSS after an earlier system's memory
        # was freed) has no meaningful ratio.
        return "n/a"
    if r >= 0.5:
        if r >= 100:
            return f"×{r:,.0f}"
        return "×" + _trim(f"{r:.1f}" if r >= 10 else f"{r:.2f}")
    inv = 1 / r
    return "1/" + (f"{inv:,.0f}" if inv >= 10 else _trim(f"{inv:.1f}"))


def fmt_sessions(n: int) -> str:
    return f"{n:,}"


def fmt_date(generated_at: str | None) -> str:
    if not generated_at:
        return "unknown date"
    try:
        t = dt.datetime.fromisoformat(generated_at)
    except ValueError:
        return generated_at
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc)
        return t.strftime("%Y-%m-%d %H:%M UTC")
    return t.strftime("%Y-%m-%d %H:%M")


def describe_machine(machine: dict[str, Any]) -> str:
    parts = []
    cores = machine.get("cores")
    if cores is not None:
        parts.append(f"{cores} core" + ("" if cores == 1 else "s"))
    mem = machine.get("memory_gib")
    if mem is not None:
        parts.append(f"{number(mem) if _is_number(mem) else mem} GiB RAM")
    if machine.get("cpu"):
        parts.append(str(machine["cpu"]))
    if machine.get("os"):
        parts.append(str(machine["os"]))
    otp = machine.get("otp")
    erts = machine.get("erts")
    if otp and erts:
        parts.append(f"OTP {otp} (ERTS {erts})")
    elif otp:
        parts.append(f"OTP {otp}")
    elif erts:
        parts.append(f"ERTS {erts}")
    known = {"cores", "memory_gib", "cpu", "os", "otp", "erts"}
    for k in sorted(set(machine) - known):
        parts.append(f"{k}: {machine[k]}")
    return ", ".join(parts) if parts else "unknown machine"


def system_name(system: str) -> str:
    return SYSTEMS.get(system, system)


def metric_label(metric: str) -> str:
    return METRICS.get(metric, (metric, "", ""))[0]


def md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------
# Markdown


class Notes:
    """Numbered footnotes for the `note` fields of a table."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def mark(self, note: str | None) -> str:
        if not note:
            return ""
        if note not in self.texts:
            self.texts.append(note)
        return f" [{self.texts.index(note) + 1}]"

    def lines(self) -> list[str]:
        return [f"[{i}] {md_escape(t)}  " for i, t in enumerate(self.texts, 1)]


def cell(bench: Bench, metric: str, system: str, sessions: int,
         notes: Notes) -> str:
    e = bench.get(metric, system, sessions)
    if e is None:
        return "—"
    text = fmt_value(e.value, e.unit or bench.unit(metric))
    ratio = e.ratio
    # The baseline's own ratio is 1 by definition; show it only when it says
    # something else (gen_statem's cast_many against its unbatched casts).
    if ratio is not None and e.value is not None and not (
            system == BASELINE and abs(ratio - 1.0) < 1e-9):
        text += f" ({fmt_ratio(ratio)})"
    return text + notes.mark(e.note)


def metrics_table(bench: Bench, sessions: int, notes: Notes) -> list[str]:
    systems = bench.systems()
    metrics = [m for m in bench.metrics()
               if any(bench.get(m, s, sessions) for s in systems)]
    head = ["metric", "better"] + [md_escape(system_name(s)) for s in systems]
    lines = ["| " + " | ".join(head) + " |",
             "| " + " | ".join(["---", "---"] + ["---:"] * len(systems)) + " |"]
    for m in metrics:
        label = md_escape(metric_label(m))
        if m in METRICS:
            label += f" (`{m}`)"
        row = [label, bench.better(m) or "?"]
        row += [cell(bench, m, s, sessions, notes) for s in systems]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def compare_symbol(compare: str) -> str:
    return {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}[compare]


def check(compare: str, measured: float, target: float) -> bool:
    return {"<=": measured <= target, ">=": measured >= target,
            "<": measured < target, ">": measured > target}[compare]


@dataclass
class TargetResult:
    target: Target
    sessions: int | None
    measured: float | None
    status: str  # "met", "missed", "no data"


def evaluate_targets(bench: Bench) -> list[TargetResult]:
    results = []
    for t in bench.targets:
        if t.sessions is not None:
            counts = [t.sessions]
        else:
            # The largest session count measured for this metric and system.
            counts = sorted((s for (m, sy, s) in bench.entries
                             if m == t.metric and sy == t.system), reverse=True)
        sessions = counts[0] if counts else None
        measured = None
        if sessions is not None:
            e = bench.get(t.metric, t.system, sessions)
            if e is not None and e.value is not None:
                measured = e.ratio
                if measured is None:
                    base = bench.get(t.metric, BASELINE, sessions)
                    if base is not None and base.value:
                        measured = e.value / base.value
        if measured is None:
            status = "no data"
        else:
            status = "met" if check(t.compare, measured, t.ratio) else "missed"
        results.append(TargetResult(t, sessions, measured, status))
    return results


def targets_table(bench: Bench) -> list[str]:
    results = evaluate_targets(bench)
    if not results:
        return ["No targets in this result file."]
    largest = max(bench.sessions(), default=None)
    lines = ["| metric | system | sessions | target (vs gen_statem) "
             "| measured | result |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for r in results:
        t = r.target
        target = f"{compare_symbol(t.compare)} {t.ratio:g} ({fmt_ratio(t.ratio)})"
        measured = ("—" if r.measured is None
                    else f"{r.measured:.3g} ({fmt_ratio(r.measured)})")
        sessions = "—" if r.sessions is None else fmt_sessions(r.sessions)
        if r.sessions is not None and largest is not None and r.sessions < largest:
            sessions += " *"
        status = {"met": "met", "missed": "**missed**"}.get(r.status, r.status)
        lines.append(f"| {md_escape(metric_label(t.metric))} (`{t.metric}`) "
                     f"| {md_escape(system_name(t.system))} | {sessions} "
                     f"| {target} | {measured} | {status} |")
    met = sum(r.status == "met" for r in results)
    lines.append("")
    lines.append(f"{met} of {len(results)} targets met.")
    if any(r.sessions is not None and largest is not None and r.sessions < largest
           for r in results):
        lines.append("\\* not measured at the largest session count; "
                     "the largest count measured is used.")
    return lines


def render_report(bench: Bench, source: str, plots: list[str]) -> str:
    out = ["# Throng benchmark report", ""]
    out.append(f"- Machine: {md_escape(describe_machine(bench.machine))}")
    out.append(f"- Date: {fmt_date(bench.generated_at)}")
    out.append("- Run: " + ("**quick** (fewer sessions and shorter runs; not "
                            "comparable with a full run)" if bench.quick
                            else "full"))
    out.append(f"- Source: `{md_escape(source)}`, produced by `make bench`")
    out.append("")
    out.append("Values are per system; in parentheses, the ratio to gen_statem "
               "measured in the same run (value / gen_statem's value: ×2.6 is "
               "2.6 times gen_statem's figure, 1/21 is a 21st of it). "
               "A ratio in the gen_statem column compares it with its own "
               "baseline (for batched casts: its unbatched casts). "
               "KiB = 1024 B; — = not measured, n/a = no value.")
    out.append("")
    sessions = bench.sessions()
    if not sessions:
        out.append("No measurements in this result file.")
        out.append("")
    for s in sessions:
        out.append(f"## {fmt_sessions(s)} sessions")
        out.append("")
        notes = Notes()
        out.extend(metrics_table(bench, s, notes))
        if notes.texts:
            out.append("")
            out.extend(notes.lines())
        out.append("")
    out.append("## Targets")
    out.append("")
    out.append("Each target is a ratio to gen_statem at the largest session "
               "count (for lower-is-better metrics, value / gen_statem's: "
               "memory at a 20th is 0.05).")
    out.append("")
    out.extend(targets_table(bench))
    out.append("")
    if plots:
        out.append("## Plots")
        out.append("")
        for p in plots:
            caption = PLOT_CAPTIONS.get(p, p)
            out.append(f"### {caption}")
            out.append("")
            out.append(f"![{caption}]({p})")
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_readme_section(bench: Bench, link_prefix: str,
                          plots: list[str]) -> list[str]:
    out = []
    if README_HEADING:
        out += [README_HEADING, ""]
    sessions = bench.sessions()
    out.append(f"Generated by `make bench` on {fmt_date(bench.generated_at)}; "
               f"machine: {md_escape(describe_machine(bench.machine))}."
               + (" **Quick run** (fewer sessions, shorter runs)."
                  if bench.quick else ""))
    out.append("")
    if sessions:
        largest = sessions[-1]
        out.append(f"At {fmt_sessions(largest)} sessions, each system's value "
                   "and, in parentheses, its ratio to gen_statem in the same run:")
        out.append("")
        notes = Notes()
        out.extend(metrics_table(bench, largest, notes))
        if notes.texts:
            out.append("")
            out.extend(notes.lines())
        out.append("")
        results = evaluate_targets(bench)
        if results:
            met = sum(r.status == "met" for r in results)
            others = [f"{metric_label(r.target.metric)} for "
                      f"{system_name(r.target.system)} ({r.status})"
                      for r in results if r.status != "met"]
            out.append(f"Targets: {met} of {len(results)} met"
                       + (": not met: " + "; ".join(md_escape(o) for o in others)
                          if others else "") + ".")
            out.append("")
    else:
        out.append("No measurements in the last result file.")
        out.append("")
    links = [f"[full report]({link_prefix}report.md)"]
    links += [f"[{PLOT_CAPTIONS.get(p, p)}]({link_prefix}{p})" for p in plots]
    out.append("Details: " + ", ".join(links) + ".")
    return out


def update_readme(path: str, section: list[str]) -> bool:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except OSError as e:
        warn(f"{path}: cannot read ({e}); README not updated")
        return False
    lines = text.splitlines(keepends=True)
    begins = [i for i, l in enumerate(lines) if l.strip() == BEGIN_MARKER]
    ends = [i for i, l in enumerate(lines) if l.strip() == END_MARKER]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        if not begins or not ends:
            why = "no `{}` / `{}` marker lines".format(BEGIN_MARKER, END_MARKER)
        else:
            why = "the markers must appear once each, begin before end"
        warn(f"{path}: {why}; README left alone")
        return False
    eol = "\r\n" if lines[begins[0]].endswith("\r\n") else "\n"
    body = [l + eol for l in section]
    # Blank lines around the section keep Markdown tables apart from the markers.
    new = lines[:begins[0] + 1] + [eol] + body + [eol] + lines[ends[0]:]
    new_text = "".join(new)
    if new_text == text:
        return True
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".readme.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(new_text)
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True


# ---------------------------------------------------------------------------
# Plots


def system_colour(system: str, systems: list[str]) -> str:
    if system in SYSTEM_COLOURS:
        return SYSTEM_COLOURS[system]
    extras = [s for s in systems if s not in SYSTEM_COLOURS]
    return EXTRA_COLOURS[extras.index(system) % len(EXTRA_COLOURS)]


def wrap_name(name: str) -> str:
    # "Throng callback module (NIF)" -> two lines for tick labels.
    if len(name) > 14 and " (" in name:
        head, tail = name.split(" (", 1)
        return f"{head}\n({tail}"
    return name


class Plotter:
    def __init__(self, bench: Bench, out_dir: str):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
        self.plt = plt
        self.FuncFormatter = FuncFormatter
        self.bench = bench
        self.out_dir = out_dir
        self.sessions = bench.sessions()
        self.systems = bench.systems()
        plt.rcParams.update({"font.size": 9, "axes.titlesize": 10,
                             "axes.titleweight": "bold"})

    def _save(self, fig, name: str) -> str:
        path = os.path.join(self.out_dir, name)
        fig.savefig(path, dpi=130, bbox_inches="tight")
        self.plt.close(fig)
        return name

    def _subtitle(self) -> str:
        b = self.bench
        text = f"{describe_machine(b.machine)} — {fmt_date(b.generated_at)}"
        if b.quick:
            text += " — QUICK RUN"
        return text

    def _present(self, metric: str) -> bool:
        return any(e.value is not None for (m, _, _), e in
                   self.bench.entries.items() if m == metric)

    @staticmethod
    def _use_log(values: Iterable[float]) -> bool:
        vs = [v for v in values if v and v > 0]
        return len(vs) > 1 and max(vs) / min(vs) > 30

    def _grouped_bars(self, ax, metric: str, fmt: Callable[[float], str],
                      log: bool | None = None, show_ratio: bool = True) -> list:
        """Bars of `metric`: groups = session counts, one bar per system."""
        bench = self.bench
        groups = [s for s in self.sessions
                  if any(bench.get(metric, sy, s) for sy in self.systems)]
        systems = [sy for sy in self.systems
                   if any(bench.get(metric, sy, s) for s in groups)]
        values = [e.value for (m, _, _), e in bench.entries.items()
                  if m == metric and e.value is not None]
        if log is None:
            log = self._use_log(values)
        if log:
            ax.set_yscale("log")
        width = 0.8 / max(len(systems), 1)
        handles = []
        top = max([v for v in values if v > 0], default=1.0)
        for j, sy in enumerate(systems):
            xs, ys, labels, missing = [], [], [], []
            for i, s in enumerate(groups):
                x = i + (j - (len(systems) - 1) / 2) * width
                e = bench.get(metric, sy, s)
                if e is None or e.value is None or (log and e.value <= 0):
                    missing.append(x)
                    continue
                xs.append(x)
                ys.append(e.value)
                label = fmt(e.value)
                if show_ratio and e.ratio is not None and not (
                        sy == BASELINE and abs(e.ratio - 1.0) < 1e-9):
                    label += f"\n{fmt_ratio(e.ratio)}"
                labels.append(label)
            bars = ax.bar(xs, ys, width * 0.92, color=system_colour(sy, self.systems),
                          label=system_name(sy), edgecolor="white", linewidth=0.5)
            handles.append(bars)
            for x, y, label in zip(xs, ys, labels):
                ax.annotate(label, (x, y), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7, linespacing=1.0)
            for x in missing:
                # x in data, y in axes coordinates: just above the x axis.
                ax.text(x, 0.01, "n/a", transform=ax.get_xaxis_transform(),
                        ha="center", va="bottom", fontsize=7, color="#999999")
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([f"{fmt_sessions(s)} sessions" for s in groups])
        ax.set_xlim(-0.6, len(groups) - 0.4)
        # Headroom for the annotations above the tallest bar.
        if log:
            lows = [v for v in values if v > 0]
            lo = min(lows, default=1.0)
            ax.set_ylim(lo / 3, top * 6)
        else:
            ax.set_ylim(0, top * 1.25)
        ax.grid(axis="y", alpha=0.3, which="major")
        ax.set_axisbelow(True)
        return handles

    def memory(self, metric: str, name: str, what: str) -> str | None:
        if not self._present(metric):
            return None
        fig, ax = self.plt.subplots(figsize=(9, 5))
        self._grouped_bars(ax, metric, fmt_bytes, log=True)
        ax.yaxis.set_major_formatter(self.FuncFormatter(
            lambda v, _: f"{v:,.0f} B" if v >= 1 else f"{v:g} B"))
        ax.set_ylabel("bytes per session (log scale)")
        ax.set_xlabel("sessions alive")
        ax.set_title(f"Memory per idle session ({what}) — lower is better")
        fig.suptitle(self._subtitle(), fontsize=8, y=0.005, va="bottom",
                     color="#555555")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        fig.subplots_adjust(bottom=0.14)
        return self._save(fig, name)

    def throughput(self) -> str | None:
        metrics = [m for m in THROUGHPUT_METRICS if self._present(m)]
        if not metrics:
            return None
        ncols = 2 if len(metrics) > 1 else 1
        nrows = math.ceil(len(metrics) / ncols)
        # With all five, starts/s sits alone (centred) on the first row and
        # the four cast panels fill a 2x2 block below it.
        if len(metrics) == 5 and metrics[0] == "starts_per_s":
            fig = self.plt.figure(figsize=(12, 12))
            grid = fig.add_gridspec(3, 4)
            axes = [fig.add_subplot(grid[0, 1:3])]
            axes += [fig.add_subplot(grid[r, c:c + 2])
                     for r in (1, 2) for c in (0, 2)]
        else:
            fig = self.plt.figure(figsize=(6 * ncols, 4 * nrows))
            axes = [fig.add_subplot(nrows, ncols, i + 1)
                    for i in range(len(metrics))]
        handles_by_label = {}
        for ax, m in zip(axes, metrics):
            title, ylabel = THROUGHPUT_TITLES[m]
            handles = self._grouped_bars(ax, m, lambda v: fmt_rate(v, ""), log=False)
            for h in handles:
                handles_by_label.setdefault(h.get_label(), h)
            ax.yaxis.set_major_formatter(self.FuncFormatter(
                lambda v, _: fmt_rate(v, "") if v else "0"))
            ax.set_ylabel(f"{ylabel} (higher is better)")
            ax.set_title(f"{title}\n({m})")
        order = [system_name(s) for s in self.systems]
        labels = [l for l in order if l in handles_by_label]
        fig.legend([handles_by_label[l] for l in labels], labels,
                   loc="upper center", ncol=len(labels), frameon=False,
                   bbox_to_anchor=(0.5, 1.0))
        fig.suptitle("Throughput per second by system (ratio to gen_statem "
                     "under each value)", y=1.03, fontweight="bold")
        fig.text(0.5, -0.01, self._subtitle(), ha="center", va="top",
                 fontsize=8, color="#555555")
        fig.tight_layout(rect=(0, 0, 1, 0.97))
        return self._save(fig, PLOT_THROUGHPUT)

    def latency(self) -> str | None:
        pcts = [m for m in ("call_p50_us", "call_p99_us") if self._present(m)]
        if not pcts:
            return None
        bench = self.bench
        groups = [s for s in self.sessions
                  if any(bench.get(m, sy, s) for m in pcts for sy in self.systems)]
        fig, axes = self.plt.subplots(1, len(groups),
                                      figsize=(max(8.0, 6.5 * len(groups)), 5),
                                      squeeze=False)
        values = [e.value for (m, _, _), e in bench.entries.items()
                  if m in pcts and e.value is not None]
        log = self._use_log(values)
        top = max([v for v in values if v > 0], default=1.0)
        low = min([v for v in values if v > 0], default=1.0)
        hatches = {"call_p50_us": "", "call_p99_us": "///"}
        alphas = {"call_p50_us": 1.0, "call_p99_us": 0.55}
        names = {"call_p50_us": "p50", "call_p99_us": "p99"}
        width = 0.8 / len(pcts)
        for ax, s in zip(axes[0], groups):
            systems = [sy for sy in self.systems
                       if any(bench.get(m, sy, s) for m in pcts)]
            if log:
                ax.set_yscale("log")
            for k, m in enumerate(pcts):
                for i, sy in enumerate(systems):
                    x = i + (k - (len(pcts) - 1) / 2) * width
                    e = bench.get(m, sy, s)
                    if e is None or e.value is None or (log and e.value <= 0):
                        ax.text(x, 0.01, "n/a", transform=ax.get_xaxis_transform(),
                                ha="center", va="bottom", fontsize=7,
                                color="#999999")
                        continue
                    ax.bar(x, e.value, width * 0.92,
                           color=system_colour(sy, self.systems),
                           alpha=alphas[m], hatch=hatches[m], edgecolor="white",
                           linewidth=0.5)
                    label = fmt_value(e.value, e.unit or "us")
                    if e.ratio is not None and sy != BASELINE:
                        label += f"\n{fmt_ratio(e.ratio)}"
                    ax.annotate(label, (x, e.value), xytext=(0, 2),
                                textcoords="offset points", ha="center",
                                va="bottom", fontsize=7, linespacing=1.0)
            ax.set_xticks(range(len(systems)))
            ax.set_xticklabels([wrap_name(system_name(sy)) for sy in systems])
            ax.set_xlim(-0.6, len(systems) - 0.4)
            if log:
                ax.set_ylim(low / 3, top * 6)
                ax.set_ylabel("call round trip, µs (log scale)")
            else:
                ax.set_ylim(0, top * 1.45)
                ax.set_ylabel("call round trip, µs")
            ax.yaxis.set_major_formatter(self.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_title(f"{fmt_sessions(s)} sessions")
            ax.grid(axis="y", alpha=0.3)
            ax.set_axisbelow(True)
        from matplotlib.patches import Patch
        legend = [Patch(facecolor="#777777", alpha=alphas[m], hatch=hatches[m],
                        edgecolor="white", label=names[m]) for m in pcts]
        axes[0][0].legend(handles=legend, loc="upper left", frameon=False,
                          title="percentile", ncol=len(legend))
        fig.suptitle("Call round-trip latency by system: "
                     + " and ".join(names[m] for m in pcts)
                     + "\n(lower is better; ratio to gen_statem under each value)",
                     fontweight="bold")
        fig.text(0.5, -0.01, self._subtitle(), ha="center", va="top",
                 fontsize=8, color="#555555")
        fig.tight_layout()
        return self._save(fig, PLOT_LATENCY)

    def all(self) -> list[str]:
        made = [
            self.memory("memory_per_session_erlang", PLOT_MEMORY,
                        "Erlang memory accounting"),
            self.memory("memory_per_session_rss", PLOT_RSS, "OS resident set size"),
            self.throughput(),
            self.latency(),
        ]
        return [p for p in made if p]


# ---------------------------------------------------------------------------
# Main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="report.py",
        description="Turn a `make bench` result JSON into bench results: "
                    "report.md and PNG plots, and optionally a README section.")
    parser.add_argument("json", help="the result file, e.g. "
                        "bench/results/latest.json")
    parser.add_argument("--out", metavar="DIR",
                        help="where to write report.md and the PNGs "
                             "(default: the JSON file's directory)")
    parser.add_argument("--readme", metavar="FILE",
                        help="also replace the text between the "
                             f"'{BEGIN_MARKER}' and '{END_MARKER}' lines of "
                             "FILE with a performance section")
    parser.add_argument("--no-plots", action="store_true",
                        help="write report.md only (no matplotlib needed)")
    args = parser.parse_args(argv)

    try:
        bench = load(args.json)
    except InputError as e:
        print(f"report.py: error: {e}", file=sys.stderr)
        return 1

    out_dir = args.out or os.path.dirname(os.path.abspath(args.json))
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        print(f"report.py: error: cannot create {out_dir}: {e}", file=sys.stderr)
        return 1

    plots: list[str] = []
    if not args.no_plots:
        try:
            plotter = Plotter(bench, out_dir)
        except ImportError:
            print("report.py: error: matplotlib is not installed "
                  "(pip install matplotlib), or pass --no-plots",
                  file=sys.stderr)
            return 1
        plots = plotter.all()

    report_path = os.path.join(out_dir, "report.md")
    with open(report_path, "w", encoding="utf-8") as f:
        f.write(render_report(bench, args.json, plots))
    written = [report_path] + [os.path.join(out_dir, p) for p in plots]

    if args.readme:
        readme_dir = os.path.dirname(os.path.abspath(args.readme))
        prefix = os.path.relpath(os.path.abspath(out_dir), readme_dir)
        prefix = "" if prefix == "." else prefix.replace(os.sep, "/") + "/"
        if update_readme(args.readme, render_readme_section(bench, prefix, plots)):
            written.append(args.readme)

    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
