"""The class summary a teacher reads after grading: counts, per-test pass rates, a histogram.

Written from the coordinator's records (autograde/coursegrade/<sheet>/<student>.json) to
``autograde/summary/<sheet>.html`` and ``<sheet>.png``.
"""

import html
import json

STATUSES = ("graded", "timeout", "crashed", "failed")
CAPTION = ("Autograded points only: written answers are graded by hand in the formgrader. "
           "Right: share of submissions that earned a test's full points.")


def _records(course, sheet):
    folder = course.state / sheet
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _tests(records):
    """The test cells in notebook order (the order the worker recorded them)."""
    tests = []
    for record in sorted(records, key=lambda r: -len(r["cells"])):
        tests += [gid for gid in record["cells"] if gid not in tests]
    return tests


def _figure(path, sheet, totals, maximum, tests, rates):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    height = max(3.8, 1.6 + 0.28 * len(tests))
    fig, (hist, bars) = plt.subplots(1, 2, figsize=(11, height), layout="constrained",
                                     gridspec_kw={"width_ratios": [1.1, 1]})
    step = max(0.25, maximum / 20)  # one bar per score (sheets give points in quarters), at most ~20 bars
    edges = np.arange(-step / 2, (maximum or 1) + step, step)
    counts, _, _ = hist.hist(totals, bins=edges, color="tab:blue", edgecolor="white", label="submissions")
    hist.set_ylim(0, 1.25 * max(1, max(counts, default=1)))  # room for the legend above the bars
    if totals:
        mean = sum(totals) / len(totals)
        hist.axvline(mean, ymax=1 / 1.2, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.2f}")
        hist.legend(loc="upper center", ncols=2, framealpha=1)
    hist.set(xlabel=f"autograded points (of {maximum:g})", ylabel="submissions", xlim=(edges[0], edges[-1]),
             title=f"{len(totals)} submissions")
    hist.yaxis.set_major_locator(MaxNLocator(integer=True))
    positions = np.arange(len(tests))
    bars.barh(positions, [100 * rates[t] for t in tests], color="tab:green")
    bars.set_yticks(positions, tests, fontsize=9)
    bars.invert_yaxis()  # the first test on top, as in the notebook
    bars.set(xlim=(0, 100), xlabel="submissions with the test's full points", title="pass rate per test")
    bars.xaxis.set_major_formatter(PercentFormatter())
    fig.suptitle(sheet)
    fig.text(0.5, 0, CAPTION, ha="center", va="top", fontsize=9, style="italic")
    fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.2)
    plt.close(fig)


def _table(header, rows, empty):
    if not rows:
        return f"<p>{empty}</p>"
    head = "".join(f"<th>{h}</th>" for h in header)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def mistake_counts(records, tests):
    """{test: [(mistake, submissions)], commonest first} from the records' diagnoses."""
    counts = {}
    for record in records:
        for test in tests:
            for name in record["cells"].get(test, {}).get("mistakes", []):
                counts.setdefault(test, {}).setdefault(name, 0)
                counts[test][name] += 1
    return {t: sorted(counts[t].items(), key=lambda item: (-item[1], item[0])) for t in tests if t in counts}


def _mistake_rows(records, tests):
    return [f"<tr><td>{html.escape(test)}</td><td>{html.escape(name)}</td><td>{count}</td></tr>"
            for test, found in mistake_counts(records, tests).items() for name, count in found]


def write_summary(course, sheet):
    records = _records(course, sheet)
    out = course.root / "autograde" / "summary"
    out.mkdir(parents=True, exist_ok=True)
    totals = [sum(c["score"] for c in r["cells"].values()) for r in records]
    maximum = max((sum(c["max"] for c in r["cells"].values()) for r in records), default=0)
    tests = _tests(records)
    points = {t: next(r["cells"][t]["max"] for r in records if t in r["cells"]) for t in tests}
    full = {t: sum(r["cells"].get(t, {}).get("score", 0) == r["cells"].get(t, {}).get("max", -1) for r in records)
            for t in tests}
    rates = {t: full[t] / max(1, len(records)) for t in tests}
    counts = {s: sum(r["status"] == s for r in records) for s in STATUSES}
    flagged = [r for r in records if r["flags"]]
    _figure(out / f"{sheet}.png", sheet, totals, maximum, tests, rates)

    rows = [f"<tr><td>{html.escape(t)}</td><td>{points[t]:g}</td><td>{full[t]} of {len(records)}</td>"
            f"<td>{100 * rates[t]:.0f} %</td></tr>" for t in tests]
    flag_rows = [
        f"<tr><td>{html.escape(r['student'])}</td><td>{'<br>'.join(html.escape(f) for f in r['flags'][:8])}"
        f"{'<br>…' if len(r['flags']) > 8 else ''}</td></tr>" for r in flagged]
    problem_rows = [
        f"<tr><td>{html.escape(r['student'])}</td><td>{html.escape(r['status'])}</td>"
        f"<td>{'<br>'.join(html.escape(x) for x in r['reasons'][:8])}</td></tr>"
        for r in records if r["reasons"] or r["status"] != "graded"]
    mistake_rows = _mistake_rows(records, tests)
    mean = sum(totals) / max(1, len(totals))
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(sheet)}: class summary</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}}
td,th{{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}}
img{{max-width:100%}} .caption{{font-style:italic;color:#444;margin-top:0}}</style></head><body>
<h1>{html.escape(sheet)}: class summary</h1>
<p>{len(records)} submissions: {counts['graded']} graded, {counts['failed']} failed, {counts['timeout']} timed out,
{counts['crashed']} crashed (graded up to the crash); {len(flagged)} flagged for review.
Mean {mean:.2f} of {maximum:g} autograded points (written answers are graded by hand and not included).</p>
<img src="{html.escape(sheet)}.png" alt="histogram of autograded points and pass rate per test">
<p class="caption">Left: autograded points per submission. Right: share of submissions that earned a test's
full points.</p>
<h2>Pass rate per test</h2>
{_table(("test cell", "points", "full points", "pass rate"), rows, "No test results yet.")}
<h2>Known mistakes per test</h2><p>How many submissions failed a test with one of the mistakes the course's
mistake catalogue knows (the sentence their feedback shows), commonest first: what to explain in the next lecture.</p>
{_table(("test cell", "known mistake", "submissions"), mistake_rows, "No known mistake found.")}
<h2>Flagged for review</h2><p>Code that can change how tests behave, or changes the guard had to undo.
Open the autograded notebook in the formgrader (these submissions are flagged there too).</p>
{_table(("student", "flags"), flag_rows, "None.")}
<h2>Repairs, crashes and timeouts</h2>
{_table(("student", "status", "reasons"), problem_rows, "None.")}
</body></html>"""
    page_path = out / f"{sheet}.html"
    page_path.write_text(page)
    return page_path
