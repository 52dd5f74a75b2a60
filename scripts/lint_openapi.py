#!/usr/bin/env python3
"""Does docs/openapi.yaml describe the server that really runs?

    lint_openapi.py OPENAPI_YAML WEIGHTINIT_BINARY [ROUTES_SWIFT]

Starts `weightinit serve` on free ports and, for every documented path and method (on every server the
document lists for it), sends real requests: the documented request examples, plus malformed JSON, a wrong
content type, an invalid spec, a too-large body and a too-large job. Each answer must have a documented
status code, a documented media type, the documented required headers (validated against their schemas),
and a JSON body that validates against the documented schema (JSON Schema 2020-12, $refs resolved in the
document). Also: every route in Routes.swift is documented and vice versa, OPTIONS and 405 `Allow` list
exactly the documented methods, undocumented paths are 404, the checkpoint's embedded init report validates
and equals /plan's, and the document's enums of leaf types and initializers equal the live registry.

Prints one line per check and `RESULT passed=N failed=M`; exits non-zero on any failure.
"""
import http.client
import json
import os
import re
import socket
import struct
import subprocess
import shutil
import sys
import tempfile
import time
import zipfile

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:weightinit:openapi"
MAX_BODY = 65536       # the test server's --max-body-bytes
MAX_JOB = 1 << 20      # the test server's --max-job-bytes
JSON_TYPES = ("application/json", "application/problem+json")

from lint_checks import check, finish  # noqa: E402  (scripts/ is on sys.path when run as a script)


def escape(token):
    return str(token).replace("~", "~0").replace("/", "~1")


class Document:
    def __init__(self, path):
        self.doc = yaml.safe_load(open(path, encoding="utf-8"))
        registry = Registry().with_resource(BASE, Resource.from_contents(self.doc, default_specification=DRAFT202012))
        self.registry = registry

    def resolve(self, node, pointer):
        """Follows a local $ref (responses, headers, request bodies); returns (node, its pointer)."""
        while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
            pointer = node["$ref"][1:]
            node = self.doc
            for token in pointer.split("/")[1:]:
                node = node[token.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def errors(self, pointer, instance):
        """Validation errors of `instance` against the schema at `pointer` in the document."""
        validator = Draft202012Validator({"$ref": f"{BASE}#{pointer}"}, registry=self.registry)
        return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def media_type(value):
    return (value or "").split(";")[0].strip().lower()


def validate_response(d, op_pointer, operation, label, status, headers, body, request_id=None):
    """Status documented, media type documented, required headers present and valid, JSON body valid."""
    responses = operation.get("responses", {})
    if not check(str(status) in responses, f"{label}: status {status} is documented",
                 f"documented: {sorted(responses)}; body: {body[:200]!r}"):
        return None
    response, rpointer = d.resolve(responses[str(status)], f"{op_pointer}/responses/{status}")
    for name, header in (response.get("headers") or {}).items():
        header, hpointer = d.resolve(header, f"{rpointer}/headers/{escape(name)}")
        value = headers.get(name.lower())
        if value is None:
            if header.get("required"):
                check(False, f"{label}: required header {name}", "missing")
            continue
        schema = header.get("schema", {})
        instance = int(value) if schema.get("type") == "integer" and value.isdigit() else value
        errs = d.errors(f"{hpointer}/schema", instance)
        check(not errs, f"{label}: header {name} matches its schema", errs[0].message if errs else "")
    if request_id is not None:
        check(headers.get("x-request-id") == request_id, f"{label}: X-Request-Id echoed",
              f"got {headers.get('x-request-id')!r}")
    content = response.get("content")
    if not content:
        check(len(body) == 0 or status == 200, f"{label}: no body documented, none sent", f"{len(body)} bytes")
        return None
    got = headers.get("content-type", "")
    matches = [m for m in content if media_type(m) == media_type(got)]
    if not check(bool(matches), f"{label}: Content-Type {got!r} is documented", f"documented: {list(content)}"):
        return None
    mt = matches[0]
    if media_type(mt) not in JSON_TYPES:
        return body
    try:
        value = json.loads(body)
    except ValueError as e:
        check(False, f"{label}: body is JSON", str(e))
        return None
    errs = d.errors(f"{rpointer}/content/{escape(mt)}/schema", value)
    check(not errs, f"{label}: body validates against the documented schema",
          "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errs[:3]))
    if request_id is not None and isinstance(value, dict) and "request_id" in value:
        check(value["request_id"] == request_id, f"{label}: problem request_id is X-Request-Id")
    return value


def embedded_report(body, fmt):
    if fmt == "pytorch":
        with zipfile.ZipFile(__import__("io").BytesIO(body)) as z:
            name = next(n for n in z.namelist() if n.endswith("/init_report.json"))
            return json.loads(z.read(name))
    n = struct.unpack("<Q", body[:8])[0]
    header = json.loads(body[8:8 + n])
    return json.loads(header["__metadata__"]["init_report"])


def main():
    spec_path, binary = sys.argv[1], sys.argv[2]
    routes_path = sys.argv[3] if len(sys.argv) > 3 else None
    d = Document(spec_path)
    doc = d.doc
    methods = ("get", "head", "post", "put", "delete", "patch", "options")

    # Static: the document's own examples validate against its schemas.
    for name, body in (doc["components"].get("requestBodies") or {}).items():
        for mt, media in body.get("content", {}).items():
            for ex_name, ex in (media.get("examples") or {}).items():
                errs = d.errors(f"/components/requestBodies/{name}/content/{escape(mt)}/schema", ex["value"])
                check(not errs, f"example {name}.{ex_name} validates against its schema",
                      errs[0].message[:200] if errs else "")

    # Routes.swift <-> document.
    if routes_path:
        swift = open(routes_path, encoding="utf-8").read()
        routed = set(re.findall(r'"(/[A-Za-z0-9_/-]*)"\s*:\s*\.', swift))
        documented = {p for p in doc["paths"] if "{" not in p}
        check(routed == documented, "every route in Routes.swift is documented, and only those",
              f"undocumented: {sorted(routed - documented)}, not routed: {sorted(documented - routed)}")
        # Templated paths (/jobs/{id}…) are routed by prefix (Routes.swift jobEndpoint).
        for path in sorted(p for p in doc["paths"] if "{" in p):
            prefix = path.split("{")[0]
            check(f'"{prefix}"' in swift, f"templated path {path} is routed (prefix {prefix} in Routes.swift)")

    data_port, ops_port = free_port(), free_port()
    while ops_port == data_port:
        ops_port = free_port()
    ports = {"8080": data_port, "8081": ops_port}
    spool = tempfile.mkdtemp(prefix="lint-openapi-spool-")
    server = start(binary, data_port, ops_port, "--max-body-bytes", str(MAX_BODY), "--max-job-bytes", str(MAX_JOB),
                   "--workers", "2", "--shutdown-grace", "2", "--spool-dir", spool)
    try:
        if server.poll() is not None:
            check(False, "server starts", f"exit {server.returncode}")
            return 1
        check(True, f"server starts (data :{data_port}, ops :{ops_port})")
        run(d, doc, methods, ports)
    finally:
        stop(server, "server")
        shutil.rmtree(spool, ignore_errors=True)
    saturated(d, binary)
    return 0


def start(binary, data_port, ops_port, *extra):
    server = subprocess.Popen(
        [binary, "serve", "--host", "127.0.0.1", "--port", str(data_port), "--ops-port", str(ops_port), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("WEIGHTINIT_")})
    deadline = time.time() + 30
    while time.time() < deadline and server.poll() is None:
        try:
            if request(ops_port, "GET", "/healthz")[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    return server


def stop(server, name):
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    check(server.returncode == 0, f"{name} exits 0 on SIGTERM", f"exit {server.returncode}")


def saturated(d, binary):
    """One stream slot, no queue: a stalled download fills it; /initialize and /readyz then answer 503."""
    data_port, ops_port = free_port(), free_port()
    server = start(binary, data_port, ops_port, "--max-streams", "1", "--queue-depth", "0", "--shutdown-grace", "1")
    big = json.dumps({"seed": 0, "model": {"type": "Net", "children": {
        "a": {"type": "Linear", "in_features": 4096, "out_features": 8192}}}}).encode()
    hold = socket.create_connection(("127.0.0.1", data_port))
    try:
        hold.sendall(b"POST /initialize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(big)}\r\n\r\n".encode() + big)
        hold.recv(4096)  # the 200 has started; the client now stops reading, so the job keeps its slot
        time.sleep(0.3)
        cases = [(data_port, "POST", "/initialize", big, "/paths/~1initialize/post"),
                 (ops_port, "GET", "/readyz", None, "/paths/~1readyz/get"),
                 (ops_port, "HEAD", "/readyz", None, "/paths/~1readyz/head")]
        for port, method, path, body, pointer in cases:
            rid = f"lint-saturated-{method}"
            status, rh, data = request(port, method, path, body, {"Content-Type": "application/json", "X-Request-Id": rid})
            label = f"{method} {path} [saturated]"
            check(status == 503, f"{label}: status 503", f"got {status}")
            operation = d.resolve({"$ref": "#" + pointer}, pointer)[0]
            validate_response(d, pointer, operation, label, status, rh, data,
                              request_id=None if method == "HEAD" else rid)
            check(rh.get("retry-after", "").isdigit(), f"{label}: Retry-After")
    finally:
        hold.close()
        stop(server, "saturated server")


def request_cases(doc, operation):
    """(label, body bytes, headers, expected status or None) for an operation with a request body."""
    body = operation.get("requestBody")
    if not body:
        return [("", None, {}, None)]
    if "$ref" in body:
        body = doc["components"]["requestBodies"][body["$ref"].split("/")[-1]]
    cases = []
    ok = min((int(s) for s in operation.get("responses", {}) if s.startswith("2")), default=200)  # 202 for POST /jobs
    for mt, media in body["content"].items():
        for ex_name, ex in (media.get("examples") or {}).items():
            cases.append((f"example {ex_name}", json.dumps(ex["value"]).encode(), {"Content-Type": mt}, ok))
    js = {"Content-Type": "application/json"}
    cases += [
        ("malformed JSON", b'{"model": ', js, 400),
        ("too deep", b"[" * 300 + b"]" * 300, js, 400),
        ("text/plain", b"{}", {"Content-Type": "text/plain"}, 415),
        ("unknown leaf type", b'{"model": {"type": "Conv2D"}}', js, 422),
        ("unknown request field", b'{"model": {"type": "Identity"}, "sed": 1}', js, 422),
        ("body too large", b'{"model": {"type": "Identity"}, "x": "' + b"a" * MAX_BODY + b'"}', js, 413),
        ("job too large", json.dumps({"seed": 1, "model": {"type": "Linear", "in_features": 1024,
                                                           "out_features": 1024}}).encode(), js, 422),
    ]
    return cases


def finished_job(port):
    """A done async job (POST /jobs with a small body, polled), for the /jobs/{id} paths."""
    body = json.dumps({"seed": 0, "model": {"type": "Linear", "in_features": 4, "out_features": 2}}).encode()
    status, _, data = request(port, "POST", "/jobs", body, {"Content-Type": "application/json"})
    if not check(status == 202, "POST /jobs for the templated paths: 202", f"got {status}: {data[:200]!r}"):
        return "00000000-0000-0000-0000-000000000000"
    job = json.loads(data)["id"]
    deadline = time.time() + 30
    while time.time() < deadline:
        if json.loads(request(port, "GET", f"/jobs/{job}")[2])["state"] == "done":
            break
        time.sleep(0.05)
    return job


def run(d, doc, methods, ports):
    root_servers = doc.get("servers", [])
    registry = None
    plan_reports = {}
    for template, item in doc["paths"].items():
        servers = item.get("servers", root_servers)
        # One fresh finished job per templated path: its DELETE must not take the others' job away.
        path = template.replace("{id}", finished_job(ports["8080"])) if "{id}" in template else template
        documented = [m.upper() for m in methods if m in item]
        for server in servers:
            port_key = server["url"].rsplit(":", 1)[-1].strip("/")
            port = ports.get(port_key)
            if not check(port is not None, f"{path}: server {server['url']} maps to a test port"):
                continue
            where = f"{path} @{port_key}"
            # DELETE last: on a job path it removes the job the other methods (OPTIONS too) are checked against.
            for method in sorted(methods, key=lambda m: m == "delete"):
                if method not in item:
                    continue
                operation = item[method]
                op_pointer = f"/paths/{escape(template)}/{method}"
                for n, (case, body, headers, expected) in enumerate(request_cases(doc, operation)):
                    rid = f"lint-{method}-{n}-{port_key}"
                    label = f"{method.upper()} {where}" + (f" [{case}]" if case else "")
                    status, rh, data = request(port, method.upper(), path, body, {**headers, "X-Request-Id": rid})
                    if expected is not None:
                        check(status == expected, f"{label}: status {expected}", f"got {status}: {data[:200]!r}")
                    value = validate_response(d, op_pointer, operation, label, status, rh, data, request_id=rid)
                    if method == "head":
                        check(len(data) == 0, f"{label}: no body")
                    if method == "options":
                        allow = [m.strip() for m in rh.get("allow", "").split(",") if m.strip()]
                        check(sorted(allow) == sorted(documented), f"{label}: Allow lists the documented methods",
                              f"Allow {allow}, documented {documented}")
                    if path == "/initializers" and method == "get" and status == 200:
                        registry = value
                    if path == "/plan" and status == 200 and case.startswith("example"):
                        plan_reports[case] = value
                    if path == "/initialize" and status == 200 and case.startswith("example"):
                        check(int(rh.get("content-length", -1)) == len(data), f"{label}: Content-Length is the body size")
                        fmt = json.loads(body).get("format", "safetensors")
                        try:
                            report = embedded_report(data, fmt)
                        except Exception as e:  # noqa: BLE001 - any failure to read the file is the finding
                            check(False, f"{label}: embedded init report readable ({fmt})", repr(e))
                            continue
                        errs = d.errors("/components/schemas/InitReport", report)
                        check(not errs, f"{label}: embedded init report validates against InitReport",
                              errs[0].message[:200] if errs else "")
                        if case in plan_reports:
                            check(report == plan_reports[case], f"{label}: embedded report equals POST /plan's")
            # A method the path does not take: 405 with Allow = the documented methods.
            wrong = "PUT" if "delete" in item else "DELETE"
            status, rh, data = request(port, wrong, path, None, {"X-Request-Id": "lint-405"})
            check(status == 405, f"{wrong} {where}: 405", f"got {status}")
            allow = [m.strip() for m in rh.get("allow", "").split(",") if m.strip()]
            check(sorted(allow) == sorted(documented), f"{wrong} {where}: Allow lists the documented methods",
                  f"Allow {allow}, documented {documented}")
            errs = d.errors("/components/responses/MethodNotAllowed/content/application~1problem+json/schema",
                            json.loads(data or b"null"))
            check(not errs, f"{wrong} {where}: body validates against MethodNotAllowed", errs[0].message if errs else "")

    # Paths that are not documented (for a port) are 404 there.
    for port_key, port in ports.items():
        served = {p for p, item in doc["paths"].items()
                  if any(s["url"].rsplit(":", 1)[-1].strip("/") == port_key for s in item.get("servers", root_servers))}
        for path in sorted(set(doc["paths"]) - served) + ["/no-such-path"]:
            status, rh, data = request(port, "GET", path)
            check(status == 404, f"GET {path} @{port_key}: 404 (not served there)", f"got {status}")
            errs = d.errors("/components/responses/NotFound/content/application~1problem+json/schema",
                            json.loads(data or b"null"))
            check(not errs, f"GET {path} @{port_key}: body validates against NotFound", errs[0].message if errs else "")

    # The document's enums against the live registry.
    if registry:
        schemas = doc["components"]["schemas"]
        pairs = [
            ("LeafType", schemas["LeafType"]["enum"], [m["type"] for m in registry["modules"]]),
            ("InitializerType", schemas["InitializerType"]["enum"], [i["name"] for i in registry["initializers"]]),
            ("TensorInitializerArguments.type", schemas["TensorInitializerArguments"]["properties"]["type"]["enum"],
             [t["type"] for t in registry["tensor_initializers"]]),
            ("init_weights fn", schemas["InitWeightsStep"]["oneOf"][1]["properties"]["fn"]["enum"],
             [f["name"] for f in registry["module_init_functions"]]),
            ("ContainerNode keys", sorted(set(schemas["ContainerNode"]["properties"]) | {"type"}),
             registry["container_keys"]),
        ]
        for name, documented, live in pairs:
            check(sorted(documented) == sorted(live), f"{name} enum equals GET /initializers",
                  f"only documented: {sorted(set(documented) - set(live))}, only live: {sorted(set(live) - set(documented))}")
        args = {a["name"] for i in registry["initializers"] for a in i["arguments"]} - {"layer"}
        documented_args = set(schemas["InitializerArguments"]["properties"])
        check(args <= documented_args, "every init_cfg argument in the registry is documented",
              f"missing: {sorted(args - documented_args)}")


if __name__ == "__main__":
    if main():
        check(False, "lint_openapi finished", "the server checks could not run")
    finish()
