"""The class summary a teacher reads after grading: counts, per-task pass rates, a histogram.

Written from the coordinator's records (autograde/coursegrade/<sheet>/<student>.json) to
``autograde/summary/<sheet>.html`` and ``<sheet>.png``.
"""

import html
import json

STATUSES = ("graded", "timeout", "crashed", "failed")


def _records(course, sheet):
    folder = course.state / sheet
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def write_summary(course, sheet):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    records = _records(course, sheet)
    out = course.root / "autograde" / "summary"
    out.mkdir(parents=True, exist_ok=True)
    totals = [sum(c["score"] for c in r["cells"].values()) for r in records]
    maximum = max((sum(c["max"] for c in r["cells"].values()) for r in records), default=0)
    tasks = sorted({gid for r in records for gid in r["cells"]})
    rates = {t: sum(r["cells"].get(t, {}).get("score", 0) == r["cells"].get(t, {}).get("max", -1) for r in records)
             / max(1, len(records)) for t in tasks}
    counts = {s: sum(r["status"] == s for r in records) for s in STATUSES}
    flagged = [r for r in records if r["flags"]]

    fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    ax.hist(totals, bins=min(20, max(5, len(set(totals)))), range=(0, maximum or 1), color="tab:blue", edgecolor="white")
    ax.set(xlabel=f"autograded points (of {maximum:g})", ylabel="submissions", title=f"{sheet}: {len(records)} submissions")
    fig.savefig(out / f"{sheet}.png", dpi=100)
    plt.close(fig)

    rows = "".join(f"<tr><td>{html.escape(t)}</td><td>{100 * rates[t]:.0f} %</td></tr>" for t in tasks)
    flag_rows = "".join(
        f"<tr><td>{html.escape(r['student'])}</td><td>{'<br>'.join(html.escape(f) for f in r['flags'][:8])}</td></tr>"
        for r in flagged)
    problem_rows = "".join(
        f"<tr><td>{html.escape(r['student'])}</td><td>{html.escape(r['status'])}</td>"
        f"<td>{'<br>'.join(html.escape(x) for x in r['reasons'][:8])}</td></tr>"
        for r in records if r["reasons"] or r["status"] != "graded")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(sheet)}: class summary</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}}</style></head><body>
<h1>{html.escape(sheet)}: class summary</h1>
<p>{len(records)} submissions: {counts['graded']} graded, {counts['failed']} failed, {counts['timeout']} timed out,
{counts['crashed']} crashed (graded up to the crash), {len(flagged)} flagged for review.
Mean {sum(totals) / max(1, len(totals)):.2f} of {maximum:g} autograded points.</p>
<img src="{html.escape(sheet)}.png" alt="histogram of autograded points">
<h2>Pass rate per test</h2><table><tr><th>test cell</th><th>full points</th></tr>{rows}</table>
<h2>Flagged for review</h2><p>Code that can change how tests behave, or changes the guard had to undo.
Open the autograded notebook in the formgrader (these submissions are flagged there too).</p>
<table><tr><th>student</th><th>flags</th></tr>{flag_rows}</table>
<h2>Repairs, crashes and timeouts</h2><table><tr><th>student</th><th>status</th><th>reasons</th></tr>{problem_rows}</table>
</body></html>"""
    page_path = out / f"{sheet}.html"
    page_path.write_text(page)
    return page_path
