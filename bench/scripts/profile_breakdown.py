#!/usr/bin/env python3
"""Server CPU by subsystem, from `perf script` output of a call-graph profile.

    perf record -F 499 --call-graph dwarf,32768 -p "$PID" -o perf.data -- sleep 12
    perf script -i perf.data -F comm,tid,period,ip,sym > server.script
    bench/scripts/profile_breakdown.py server.script:EVENTS [other.script:EVENTS ...]

EVENTS is the number of events (NTA requests or Akto records) the server accepted while `perf`
recorded (events/s from `loadgen` times the recording time). Each sample goes to the first
subsystem below that any frame of its stack belongs to, so the shares add up to 100 %; with the
sampling rate they give microseconds of server CPU per event. Inlined frames count (release
builds carry line tables), but their attribution is approximate: decoding and normalising are
reported together because the compiler inlines them into one another.
"""

import re
import sys

SAMPLE_HZ = 499

SUBSYSTEMS = [
    ("background: change tracker", r"changes::ChangeTracker"),
    ("background: discovery job", r"discovery::job::"),
    ("writer: summaries encoded and inserted", r"summaries::encode|insert_summaries"),
    ("writer: COPY, catalog statements, sqlx", r"ingest::writer::|reconstructor::store::|sqlx"),
    ("ingest: summaries sampled", r"summaries::summarize|Sampler::admit|Sampler::keep_whole"),
    ("ingest: redaction", r"ingest::redact"),
    (
        "ingest: decoding, base64, normalising",
        r"ingest::encoding::|ingest::normalize::|ingest::formats::|decode_record"
        r"|serde_path_to_error|reconstructor_wire::|decode_ingest_data|decode_telemetry",
    ),
    (
        "ingest: classification, templating",
        r"Classifier::classify|discovery::catalog::|model::template::|model::segment::",
    ),
    ("ingest: other", r"Ingestor::ingest"),
    ("HTTP, middleware, handlers", r"hyper|axum|tower|reconstructor::http|reconstructor::server"),
    ("tokio scheduler", r"tokio::runtime"),
]
OTHER = "kernel only / other"


def stacks(path):
    """The symbol names of each sample's stack, innermost first."""
    stack = None
    with open(path, errors="replace") as lines:
        for line in lines:
            if not line.strip():
                if stack is not None:
                    yield stack
                stack = None
            elif not line.startswith("\t"):
                stack = []
            elif stack is not None:
                parts = line.strip().split(None, 1)
                if len(parts) == 2:
                    stack.append(parts[1])
    if stack:
        yield stack


def breakdown(path):
    patterns = [(name, re.compile(rx)) for name, rx in SUBSYSTEMS]
    counts = {name: 0 for name, _ in SUBSYSTEMS}
    counts[OTHER] = 0
    for stack in stacks(path):
        frames = "\n".join(stack)
        hit = next((name for name, rx in patterns if rx.search(frames)), OTHER)
        counts[hit] += 1
    return counts


def main(args):
    columns = []
    for arg in args:
        path, events = arg.rsplit(":", 1)
        counts = breakdown(path)
        us_per_sample = 1e6 / SAMPLE_HZ / float(events)
        columns.append((path, counts, sum(counts.values()), us_per_sample))
    print("| subsystem | " + " | ".join(f"{p} % | µs/event" for p, _, _, _ in columns) + " |")
    print("|---|" + "---:|---:|" * len(columns))
    for name in [n for n, _ in SUBSYSTEMS] + [OTHER]:
        cells = [f"{100 * c[name] / n:.1f} | {c[name] * us:.1f}" for _, c, n, us in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| total | " + " | ".join(f"100 | {n * us:.1f}" for _, _, n, us in columns) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
