"""Long chaos run: 10,000 random scheduler operations through fault-injecting proxies, with worker processes killed
at random moments, then one ``sync_all()``, then the invariant check of ledger against provider state.

Prints the operations and their outcomes, the faults injected by type, the workers killed, every invariant row
(each must be 0) and the run time. Run: ``python benchmarks/chaos.py [--operations N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from lms_connectors.testing.chaos import run_chaos


def main() -> int:
    """Run the chaos test once and print its figures; exit 1 when an invariant row is not 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--fault-rate", type=float, default=0.08)
    parser.add_argument("--kills", type=int, default=40)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the ledger, logs and results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.workdir or Path(scratch)
        print(f"chaos: {args.operations} operations on {args.sessions} sessions, seed {args.seed}, "
              f"fault rate {args.fault_rate}, {args.kills} kills, {args.workers} workers", flush=True)
        report = run_chaos(workdir, seed=args.seed, operations=args.operations, sessions=args.sessions,
                           fault_rate=args.fault_rate, kills=args.kills, workers=args.workers)
        print(report.render())
    return 0 if report.converged else 1


if __name__ == "__main__":
    sys.exit(main())
