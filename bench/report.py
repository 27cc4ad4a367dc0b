"""Markdown tables from saved results of bench/publish.py and bench/page.py.

Example:
    .venv/bin/python bench/report.py bench/results/publish-*.json bench/results/page-*.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def publish_rows(results: list[tuple[str, dict]]) -> list[str]:
    """One row per publish run."""
    rows = [
        "| run | database | workers | clients → stories | entries | entries/s | POST p50 / p99 /"
        " max ms | errors | log gapless, unique, counts match | server + db CPU s | other CPU"
        " (cores) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results:
        params, lat, machine = result["params"], result["latency_ms"], result["machine"]
        database = result.get("setup", {}).get("database", {}).get("database", "?")
        rows.append(
            f"| {name} | {database} | {params['workers']} | {params['clients']} → "
            f"{params['stories']} | {result['posts_ok']} | {result['entries_per_s']} | "
            f"{lat['p50']} / {lat['p99']} / {lat['max']} | {result['errors']} | "
            f"{'yes' if result['log_ok'] else 'NO'} | "
            f"{machine['server_cpu_s']} + {machine['db_cpu_s']} | {machine['other_cpu_share']} |"
        )
    return rows


def page_rows(results: list[tuple[str, dict]]) -> list[str]:
    """One row per page run and address."""
    rows = [
        "| run | address | long: first byte p50 / p99 ms | long: full p50 / p99 / max ms |"
        " short: full p50 / p99 / max ms | ratio p50 / p99 | other CPU (cores) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in results:
        for address, row in result["addresses"].items():
            first, full, short = (
                row["long"]["first_byte_ms"],
                row["long"]["full_ms"],
                row["short"]["full_ms"],
            )
            rows.append(
                f"| {name} | {address} | {first['p50']} / {first['p99']} | {full['p50']} / "
                f"{full['p99']} / {full['max']} | {short['p50']} / {short['p99']} / "
                f"{short['max']} | {row['ratio_p50']} / {row['ratio_p99']} | "
                f"{result['machine']['other_cpu_share']} |"
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the tables for the given result files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="JSON results saved with --save")
    args = parser.parse_args(argv)
    publish, page = [], []
    for path in args.files:
        with open(path) as handle:
            result = json.load(handle)
        name = os.path.splitext(os.path.basename(path))[0]
        (page if "addresses" in result else publish).append((name, result))
    if publish:
        print("\n".join(publish_rows(publish)) + "\n")
    if page:
        print("\n".join(page_rows(page)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
