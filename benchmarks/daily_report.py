"""The daily benchmark's report (benchmarks/bench_daily.py): report.json as measured, and
report.md, its tables for a person."""

import json
from pathlib import Path


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# Daily run benchmark: scale {report['scale']}", "",
             f"Machine: {m['cpus']} cores ({m['cpu']}), {m['memory_gb']} GB, {m['os']}; measured {m['measured_at']}.",
             f"Store: {report['store']['events']:,} events over {report['store']['days']} days, "
             f"{report['store']['users']:,} users, {report['store']['products']:,} products "
             f"({report['store']['shape']} shape); history cleaned in {report['history_seconds']:.0f} s "
             "(reused when 0)."]
    for run in report["runs"]:
        lines += ["", f"## {run['kind']} day {run['day']}", "", *run_markdown(run["stages"], run["sizes"])]
    retuned = [r for r in report["runs"] if r["kind"].startswith("retuned")]
    if retuned:
        searched = retuned[0]  # against the same day's run with the parameters kept
        kept = next(r for r in report["runs"] if r["day"] == searched["day"] and r is not searched)
        ndcg = [r["sizes"]["als_ndcg_at_k"] for r in (kept, searched)]
        train = [next(st["seconds"] for st in r["stages"] if st["task"] == "train_als") for r in (kept, searched)]
        lines += ["", f"Keeping the parameters ({kept['sizes']['als']}) against searching them again the same day "
                      f"({searched['sizes']['als']}): NDCG@K {ndcg[0]} against {ndcg[1]} "
                      f"({(ndcg[0] / ndcg[1] - 1) * 100:+.2f} %); train_als {train[0]:.1f} s against {train[1]:.1f} s."]
    lines += ["", f"| peer comparison ({report['runs'][-1]['day']}) | ours s | peer s | ours / peer |",
              "|---|---:|---:|---:|"]
    lines += [f"| {p['name']} | {p['ours_s'] or 0:.2f} | {p['peer_s'] or 0:.2f} | {p['ratio'] or 0:.2f} |"
              for p in report["peers"]]
    return "\n".join(lines) + "\n"


def run_markdown(stages: list[dict], s: dict) -> list[str]:
    lines = [f"Window: {s['events_in_window']:,} events, {s['users']:,} users, {s['products']:,} products, "
             f"{s['non_zeros']:,} non-zeros; {s['recommendations_written']:,} recommendations and "
             f"{s['similar_products_written']:,} similar products written; ALS ({s['als_engine']}) {s['als']}, "
             f"{s['tuning_trials']} tuning trials in {s['tuning_seconds']:.0f} s ({s['tuning_search']}); "
             f"gate: {s['status']} "
             f"(NDCG@K ALS {s['als_ndcg_at_k']}, popularity {s['popularity_ndcg_at_k']}, "
             f"category popularity {s.get('category_popularity_ndcg_at_k')}).", "",
             "| stage | seconds | rows in | rows out | rows/s | peak RSS MB | machine used MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for st in stages:
        cells = [st["task"], f"{st['seconds']:.1f}", *(f"{st[k]:,}" if st[k] else "" for k in
                                                        ("rows_in", "rows_out", "rows_per_s", "peak_rss_mb",
                                                         "peak_machine_mb"))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write(workdir: Path, report: dict) -> None:
    (workdir / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (workdir / "report.md").write_text(markdown(report))
