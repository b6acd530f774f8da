"""How often the scorer agrees with careful hand labels on real repositories.

    python benchmarks/scoring_truth.py <folder of clones> [--disagreements] [--check ID] [--repo SLUG]
    python benchmarks/scoring_truth.py <folder of clones> --labels benchmarks/scoring_truth/holdout

The labels live in benchmarks/scoring_truth/labels/<slug>.csv (repository, commit, check, status,
evidence), one file per public repository, labelled by hand from the files against the rubric in
reproducibility/checks/guide.yaml before the scorer's output was looked at. The folder holds the
clones as <slug>/ at the labelled commit (benchmarks/scoring_truth/corpus.csv lists them); none of
their code is kept here. Prints per-check agreement, precision and recall of "pass", the exact
agreement, every false pass (the scorer says pass where the label does not), and a JSON last line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from reproducibility.checks import REGISTRY, all_checks
from reproducibility.scoring import score_tree

LABELS = Path(__file__).resolve().parent / "scoring_truth" / "labels"
STATUSES = ("pass", "partial", "fail", "not_applicable")


def read_labels(folder: Path = LABELS) -> dict[str, dict]:
    """slug -> {"repository", "commit", "labels": {check: (status, evidence)}}."""
    corpus: dict[str, dict] = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            continue
        labels = {}
        for row in rows:
            if row["status"] not in STATUSES:
                raise SystemExit(f"{path.name}: {row['check']}: unknown status {row['status']!r}")
            labels[row["check"]] = (row["status"], row["evidence"])
        corpus[path.stem] = {"repository": rows[0]["repository"], "commit": rows[0]["commit"], "labels": labels}
    return corpus


def head_commit(clone: Path) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clones", type=Path, help="folder holding <slug>/ clones at the labelled commits")
    parser.add_argument("--disagreements", action="store_true", help="list every disagreement, not only false passes")
    parser.add_argument("--check", action="append", default=[], help="only these check ids")
    parser.add_argument("--repo", action="append", default=[], help="only these slugs")
    parser.add_argument(
        "--labels",
        type=Path,
        default=LABELS,
        help="folder of label files (default: the corpus; holdout/ is the held-out set)",
    )
    args = parser.parse_args()

    all_checks()
    corpus = read_labels(args.labels)
    if args.repo:
        corpus = {slug: item for slug, item in corpus.items() if slug in args.repo}
    checks = [c for c in REGISTRY if not args.check or c in args.check]
    unknown = {check for item in corpus.values() for check in item["labels"]} - set(REGISTRY)
    if unknown:
        raise SystemExit(f"labels name checks the scorer does not have: {sorted(unknown)}")

    pairs: list[tuple[str, str, str, str, str, str]] = []  # slug, check, label, scored, evidence, reason
    missing, moved = [], []
    started = time.perf_counter()
    for slug, item in corpus.items():
        clone = args.clones / slug
        if not clone.is_dir():
            missing.append(slug)
            continue
        if head_commit(clone) != item["commit"]:
            moved.append(slug)
            continue
        outcomes = {o.check.id: o.result for o in score_tree(clone).outcomes}
        for check in checks:
            if check not in item["labels"]:
                continue
            status, evidence = item["labels"][check]
            result = outcomes[check]
            pairs.append((slug, check, status, result.status.value, evidence, result.reason))
    elapsed = time.perf_counter() - started
    if missing:
        print(f"not in {args.clones}: {', '.join(missing)}")
    if moved:
        print(f"not at the labelled commit (skipped): {', '.join(moved)}")
    if not pairs:
        raise SystemExit("nothing to compare")

    by_check: dict[str, list[tuple]] = defaultdict(list)
    for pair in pairs:
        by_check[pair[1]].append(pair)
    print(f"{'check':32} {'n':>3} {'agree':>6} {'P(pass)':>8} {'R(pass)':>8} {'false+':>6}")
    for check in checks:
        rows = by_check.get(check, [])
        if not rows:
            continue
        agree = sum(label == scored for _, _, label, scored, _, _ in rows)
        said_pass = [r for r in rows if r[3] == "pass"]
        is_pass = [r for r in rows if r[2] == "pass"]
        precision = sum(r[2] == "pass" for r in said_pass) / len(said_pass) if said_pass else 1.0
        recall = sum(r[3] == "pass" for r in is_pass) / len(is_pass) if is_pass else 1.0
        false = sum(r[2] != "pass" for r in said_pass)
        print(f"{check:32} {len(rows):>3} {agree / len(rows):>6.0%} {precision:>8.2f} {recall:>8.2f} {false:>6}")

    agreement = sum(label == scored for _, _, label, scored, _, _ in pairs) / len(pairs)
    passing = sum((label == "pass") == (scored == "pass") for _, _, label, scored, _, _ in pairs) / len(pairs)
    false_passes = [p for p in pairs if p[3] == "pass" and p[2] != "pass"]
    confusion = Counter((label, scored) for _, _, label, scored, _, _ in pairs if label != scored)
    print(f"\n{len(pairs)} labels on {len({p[0] for p in pairs})} repositories, scored in {elapsed:.1f} s")
    print(f"exact agreement {agreement:.1%}; pass vs not-pass {passing:.1%}; false passes {len(false_passes)}")
    if confusion:
        print("disagreements (label -> scorer): " + ", ".join(f"{a}->{b} {n}" for (a, b), n in confusion.most_common()))
    shown = [p for p in pairs if p[2] != p[3]] if args.disagreements else false_passes
    for slug, check, label, scored, evidence, reason in shown:
        marker = "FALSE PASS " if scored == "pass" else ""
        print(f"\n{marker}{slug} {check}: label {label}, scorer {scored}\n  label:  {evidence}\n  scorer: {reason}")
    print(
        json.dumps(
            {
                "benchmark": "scoring_truth",
                "labels_folder": args.labels.name,
                "repos": len({p[0] for p in pairs}),
                "labels": len(pairs),
                "exact_agreement": round(agreement, 4),
                "pass_agreement": round(passing, 4),
                "false_passes": len(false_passes),
                "seconds": round(elapsed, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
