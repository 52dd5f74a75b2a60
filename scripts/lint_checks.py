"""The check counter the lint scripts share: one `ok`/`FAIL` line per check, then a RESULT line."""
import sys

passed = failed = 0


def check(ok, what, why=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}{': ' + why if why else ''}")
    return ok


def finish():
    """Prints `RESULT passed=N failed=M` and exits non-zero on any failure."""
    print(f"RESULT passed={passed} failed={failed}")
    sys.exit(1 if failed else 0)
