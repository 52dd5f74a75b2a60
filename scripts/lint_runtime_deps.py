#!/usr/bin/env python3
"""Is the Dockerfile's runtime stage complete?

    lint_runtime_deps.py DOCKERFILE BINARY

Every shared library `ldd BINARY` resolves must come from a Debian package that the runtime stage gets:
one its `apt-get install` names, one of the base image's (Essential packages and apt, which every
debootstrap minbase and so debian:bookworm-slim has), or a dependency of either (Depends/Pre-Depends,
recursively). Library -> package by `dpkg -S`; dependencies from the dpkg database of this (bookworm)
host, so no network is needed. A library that no package owns (e.g. a Swift runtime .so that
--static-swift-stdlib should have linked in) or that ldd cannot find is a failure.

With --swift-runtime-is-static, BINARY may be a build without --static-swift-stdlib (e.g. the debug
build): the Swift runtime libraries of the toolchain are then accepted, and the system libraries they pull
in (libcurl for FoundationNetworking, ...) are still checked, a slight over-approximation of the image.

Prints one line per library and exits non-zero on any failure.
"""
import json
import os
import re
import shlex
import subprocess
import sys


def runtime_packages(dockerfile, stage=-1):
    """The packages `apt-get install` names in a stage of the Dockerfile (default: the last one)."""
    text = open(dockerfile, encoding="utf-8").read()
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    stages = re.split(r"(?im)^\s*FROM\s", text)[1:]
    last = stages[stage]
    packages = []
    for line in last.splitlines():
        if not re.match(r"(?i)\s*RUN\s", line):
            continue
        for command in re.split(r"&&|;|\|\|", line):
            words = shlex.split(command, comments=True)
            if "apt-get" in words and "install" in words:
                rest = words[words.index("install") + 1:]
                packages += [w.split("=")[0] for w in rest if not w.startswith("-")]
    return packages


def runtime_run(dockerfile):
    """The last stage's RUN commands joined with && (for running them in a chroot)."""
    text = re.sub(r"\\\n", " ", open(dockerfile, encoding="utf-8").read())
    last = re.split(r"(?im)^\s*FROM\s", text)[-1]
    return " && ".join(line.strip()[4:] for line in last.splitlines() if re.match(r"(?i)\s*RUN\s", line))


def healthcheck(dockerfile):
    """The script of the exec-form `HEALTHCHECK ... CMD ["bash", "-c", SCRIPT]`."""
    text = re.sub(r"\\\n", " ", open(dockerfile, encoding="utf-8").read())
    m = re.search(r"(?m)^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$", text)
    args = json.loads(m.group(1)) if m else []
    if args[:2] != ["bash", "-c"] or len(args) != 3:
        raise SystemExit(f"no HEALTHCHECK CMD [\"bash\", \"-c\", ...] in {dockerfile}")
    return args[2]


def dpkg_database():
    """name -> (essential, [dependency groups]) and virtual name -> providers, for installed packages."""
    fmt = "${Package}\t${Essential}\t${Depends}\t${Pre-Depends}\t${Provides}\t${db:Status-Abbrev}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True, check=True).stdout
    packages, providers = {}, {}
    for line in out.splitlines():
        name, essential, depends, predepends, provides, status = (line.split("\t") + [""] * 6)[:6]
        if not status.startswith("ii"):
            continue
        groups = []
        for field in (depends, predepends):
            for group in filter(None, (g.strip() for g in field.split(","))):
                groups.append([re.split(r"[\s(:]", alt.strip())[0] for alt in group.split("|")])
        packages[name] = (essential == "yes", groups)
        for p in filter(None, (p.strip() for p in provides.split(","))):
            providers.setdefault(re.split(r"[\s(:]", p)[0], []).append(name)
    return packages, providers


def closure(roots, packages, providers):
    """Every installed package reachable from roots through Depends/Pre-Depends: name -> who pulled it in."""
    seen = {}
    stack = [(r, None) for r in roots]
    while stack:
        name, parent = stack.pop()
        if name in seen:
            continue
        candidates = [name] if name in packages else providers.get(name, [])
        for c in candidates[:1]:
            if c in seen:
                continue
            seen[c] = parent
            for group in packages[c][1]:
                installed = [alt for alt in group if alt in packages or alt in providers]
                if installed:
                    stack.append((installed[0], c))
    return seen


def owner(path):
    """The Debian package that owns a library path (usrmerge: try /lib and /usr/lib spellings)."""
    real = os.path.realpath(path)
    tries = [path, real]
    for p in (path, real):
        tries.append("/usr" + p if not p.startswith("/usr/") else p[len("/usr"):])
    for p in dict.fromkeys(tries):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--print-runtime-run" in sys.argv:
        print(runtime_run(args[0]))
        return 0
    if "--print-healthcheck" in sys.argv:
        print(healthcheck(args[0]))
        return 0
    swift_runtime_ok = "--swift-runtime-is-static" in sys.argv
    dockerfile, binary = args[0], args[1]
    wanted = runtime_packages(dockerfile)
    if not wanted:
        print(f"FAIL no apt-get install in the runtime stage of {dockerfile}")
        return 1
    print(f"runtime stage installs: {' '.join(wanted)}")
    packages, providers = dpkg_database()
    essential = [n for n, (e, _) in packages.items() if e]
    base = closure(essential + ["apt"], packages, providers)
    explicit = closure(wanted, packages, providers)

    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if ldd.returncode != 0:
        print(f"FAIL ldd {binary}: {ldd.stderr.strip() or ldd.stdout.strip()}")
        return 1
    failures = 0
    for line in ldd.stdout.splitlines():
        line = line.strip()
        if "=>" not in line:
            continue  # linux-vdso, the dynamic loader itself (libc6)
        soname, _, target = line.partition("=>")
        soname, target = soname.strip(), target.strip().split(" (")[0].strip()
        if target == "not found" or not target:
            print(f"FAIL {soname}: not found by ldd")
            failures += 1
            continue
        package = owner(target)
        if package is None and swift_runtime_ok and "/lib/swift/linux/" in target:
            print(f"ok   {soname}: Swift runtime (linked statically by --static-swift-stdlib in the image)")
        elif package is None:
            print(f"FAIL {soname} ({target}): no Debian package owns it")
            failures += 1
        elif package in wanted:
            print(f"ok   {soname}: {package} (installed by the runtime stage)")
        elif package in base:
            print(f"ok   {soname}: {package} (in the base image)")
        elif package in explicit:
            pulled = explicit[package]
            print(f"ok   {soname}: {package} (dependency of {pulled})")
        else:
            print(f"FAIL {soname}: {package} is not installed by the runtime stage (add it to apt-get install)")
            failures += 1
    for name in wanted:
        if name not in packages:
            print(f"FAIL runtime package {name} is not a bookworm package installed here (typo?)")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
