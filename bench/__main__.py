"""Run every benchmark, print a table per benchmark, write bench/results.json."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> int:
    from bench import alerts, coldstart, cost, ingest, insights, sweep, throughput

    print(coldstart.report(coldstart.run()))
    print()

    print(ingest.report(ingest.run()))
    print()
    print(sweep.report(sweep.run()))
    print()
    print(throughput.report(throughput.run()))
    print()
    print(alerts.report(alerts.run()))
    print()
    print(insights.report(insights.run()))
    print()
    print(cost.report(cost.run()))
    print(f"\nFigures written to {Path(__file__).parent / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
