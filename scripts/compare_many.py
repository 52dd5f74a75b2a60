#!/usr/bin/env python3
"""Judge many outputs with the golden compare.py in one process (importing torch once).

    compare_many.py LIST     # LIST: lines "CASE_DIR<TAB>OUTPUT_FILE"
Prints PASS/FAIL lines like compare.py; exits 1 if any failed."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (scripts/compare.py, the shared judge)

failed = 0
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    case, out = line.rstrip("\n").split("\t")
    problems = compare.compare(case, out)
    name = os.path.basename(os.path.normpath(case))
    kind = os.path.splitext(out)[1].lstrip(".")
    if problems:
        failed += 1
        print(f"FAIL {name} ({kind})")
        for p in problems[:20]:
            print("  " + p)
    else:
        print(f"PASS {name} ({kind})")
sys.exit(1 if failed else 0)
