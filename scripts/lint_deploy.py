#!/usr/bin/env python3
"""Checks on the deployment artifacts that schema validation cannot make.

    lint_deploy.py RENDERED_MANIFESTS.yaml DOCKERFILE DOCKER_COMPOSE SERVE_SWIFT

RENDERED_MANIFESTS is `kubectl kustomize deploy/` output (or the concatenated deploy/*.yaml). Checks that
the Deployment's probes use the ops port and the documented paths, the grace period covers the preStop
sleep plus WEIGHTINIT_SHUTDOWN_GRACE, the hardening is in place, resources are set, every WEIGHTINIT_*
variable the ConfigMap/compose sets is one the server reads (a typo would be silently ignored), and the
Service/HPA/PDB point at the Deployment. Prints one line per check and `RESULT passed=N failed=M`.
"""
import re
import sys

import yaml

from lint_checks import check, finish  # noqa: E402  (scripts/ is on sys.path when run as a script)


def seconds(value):
    m = re.fullmatch(r"\s*([0-9.]+)\s*(s|m)?\s*", str(value))
    return float(m.group(1)) * (60 if m.group(2) == "m" else 1) if m else None


def quantity(value):
    """A Kubernetes quantity in bytes (None when absent)."""
    if value is None:
        return None
    m = re.fullmatch(r"([0-9.]+)([KMGTE]i?)?", str(value))
    units = {None: 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return float(m.group(1)) * units[m.group(2)]


def main():
    rendered, dockerfile, compose_path, serve_swift = sys.argv[1:5]
    docs = [d for d in yaml.safe_load_all(open(rendered, encoding="utf-8")) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    for kind in ("Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        check(len(by_kind.get(kind, [])) == 1, f"exactly one {kind}")
    known_env = set(re.findall(r"WEIGHTINIT_[A-Z_]*[A-Z]", open(serve_swift, encoding="utf-8").read()))

    dep = by_kind["Deployment"][0]
    cm = by_kind["ConfigMap"][0]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    env = dict(cm.get("data", {}))

    check(set(env) <= known_env, "ConfigMap sets only variables the server reads",
          f"unknown: {sorted(set(env) - known_env)}")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    ops_port = int(env.get("WEIGHTINIT_OPS_PORT", 8081))
    data_port = int(env.get("WEIGHTINIT_PORT", 8080))
    check(ports.get("ops") == ops_port and ports.get("http") == data_port,
          "container ports match WEIGHTINIT_PORT/WEIGHTINIT_OPS_PORT", f"{ports}")
    for probe, paths in (("startupProbe", ("/healthz", "/livez")), ("livenessProbe", ("/healthz", "/livez")),
                         ("readinessProbe", ("/readyz",))):
        p = c.get(probe)
        if not check(p is not None and "httpGet" in p, f"{probe} is an HTTP probe"):
            continue
        port = p["httpGet"]["port"]
        check(port in ("ops", ops_port), f"{probe} uses the ops port", f"port {port}")
        check(p["httpGet"]["path"] in paths, f"{probe} path is one of {paths}", p["httpGet"]["path"])
    check(c["livenessProbe"].get("failureThreshold", 3) * c["livenessProbe"].get("periodSeconds", 10) >= 20,
          "liveness tolerates at least 20 s of failures")

    grace = pod.get("terminationGracePeriodSeconds", 30)
    pre = c.get("lifecycle", {}).get("preStop", {})
    sleep = 0.0
    if "exec" in pre:
        cmd = pre["exec"]["command"]
        check(cmd[0] == "sleep" and len(cmd) == 2, "preStop is a sleep", f"{cmd}")
        sleep = float(cmd[-1])
    elif "sleep" in pre:
        sleep = float(pre["sleep"]["seconds"])
    check(sleep > 0, "preStop sleeps, so endpoints are removed before draining")
    shutdown = float(env.get("WEIGHTINIT_SHUTDOWN_GRACE", 30))
    check(grace > sleep + shutdown, "terminationGracePeriodSeconds > preStop sleep + WEIGHTINIT_SHUTDOWN_GRACE",
          f"{grace} <= {sleep} + {shutdown}")

    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and int(psc.get("runAsUser", 0)) > 0, "runs as a non-root uid")
    check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"], "drops all capabilities")
    user = re.search(r"(?m)^USER\s+(\d+)", open(dockerfile, encoding="utf-8").read())
    check(user is not None and int(user.group(1)) == int(psc.get("runAsUser", -1)),
          "Dockerfile USER is numeric and equals runAsUser")

    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        check({"cpu", "memory"} <= set(res.get(kind, {})), f"resources.{kind} has cpu and memory")
    workers = env.get("WEIGHTINIT_WORKERS")
    limit = str(res.get("limits", {}).get("cpu", ""))
    if workers and limit:
        cores = float(limit[:-1]) / 1000 if limit.endswith("m") else float(limit)
        check(int(workers) <= max(1, round(cores)), "WEIGHTINIT_WORKERS fits the CPU limit", f"{workers} > {limit}")

    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    cdir = env.get("WEIGHTINIT_CHECKPOINT_DIR")
    if cdir:
        check(cdir in mounts and mounts[cdir].get("readOnly") is True, "checkpoint dir is a read-only volume mount")
    if check("/tmp" in mounts, "/tmp is writable (a volume) under the read-only root"):
        vol = next((v for v in pod.get("volumes", []) if v["name"] == mounts["/tmp"]["name"]), {})
        limit = quantity(vol.get("emptyDir", {}).get("sizeLimit"))
        download = float(env.get("WEIGHTINIT_MAX_CHECKPOINT_DOWNLOAD_BYTES", 4 << 30))
        check(limit is None or limit > download, "/tmp sizeLimit holds the largest checkpoint download",
              f"{limit} <= {download}")
    check(c.get("envFrom", [{}])[0].get("configMapRef", {}).get("name") == cm["metadata"]["name"],
          "container takes its environment from the ConfigMap")

    svc = by_kind["Service"][0]
    check(all(svc["spec"]["selector"].get(k) == v for k, v in labels.items() if k in svc["spec"]["selector"])
          and svc["spec"]["selector"], "Service selects the pods")
    check({p["targetPort"] for p in svc["spec"]["ports"]} <= set(ports) | set(ports.values()),
          "Service targets container ports")
    hpa = by_kind["HorizontalPodAutoscaler"][0]
    check(hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"], "HPA targets the Deployment")
    check("replicas" not in dep["spec"], "Deployment leaves replicas to the HPA")
    check(hpa["spec"].get("minReplicas", 1) >= 2, "HPA keeps at least 2 replicas (the PDB allows 1 unavailable)")
    pdb = by_kind["PodDisruptionBudget"][0]
    check(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), "PDB selects the pods")

    compose = yaml.safe_load(open(compose_path, encoding="utf-8"))
    for name, s in compose.get("services", {}).items():
        cenv = s.get("environment", {})
        cenv = dict(e.split("=", 1) for e in cenv) if isinstance(cenv, list) else cenv
        check(set(cenv) <= known_env | {k for k in cenv if not k.startswith("WEIGHTINIT_")},
              f"compose {name}: only variables the server reads", f"unknown: {sorted(set(cenv) - known_env)}")
        stop = seconds(s.get("stop_grace_period", "10s"))
        check(stop is not None and stop > float(cenv.get("WEIGHTINIT_SHUTDOWN_GRACE", 30)),
              f"compose {name}: stop_grace_period > WEIGHTINIT_SHUTDOWN_GRACE")
        check(s.get("read_only") is True and "ALL" in s.get("cap_drop", []), f"compose {name}: read-only, no capabilities")
    return 0


if __name__ == "__main__":
    main()
    finish()
