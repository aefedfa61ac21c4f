#!/usr/bin/env python3
"""Tests the Argo CD health check (deploy/argocd/health.lua) with Lua 5.1 (Argo CD's VM is 5.1's semantics).

Each fixture in testdata/ is a TetrisApp; health_test.yaml names the status and message Argo CD
must show for it. Lua 5.1 has no YAML parser, so this script turns every fixture into a Lua table
literal and hands the lot to runner.lua, which runs the script once per fixture in a sandbox like
Argo CD's. The authority is Argo CD's own VM: hack/argocd/health-oracle, run by operator/tests/argocd.

It also checks that argocd-cm.yaml embeds health.lua verbatim, so what is tested is what gets
installed. `--write-configmap` rewrites argocd-cm.yaml from health.lua.

Usage: python3 deploy/argocd/test/run.py [--lua PATH] [--write-configmap]
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ARGOCD = HERE.parent
HEALTH_KEY = "resource.customizations.health.gameops.dev_TetrisApp"

CONFIGMAP_HEADER = """\
# Installs the TetrisApp health check into Argo CD. Merge it into the existing argocd-cm:
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file deploy/argocd/argocd-cm.yaml
# With the argo-cd Helm chart, put the same key under `configs.cm` instead.
# Generated from health.lua by: python3 deploy/argocd/test/run.py --write-configmap
"""


def lua_literal(value):
    """Renders a YAML value as a Lua 5.1 expression, the way Argo CD hands objects to Lua."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        out = ['"']
        for ch in value:
            code = ord(ch)
            if ch in '"\\':
                out.append("\\" + ch)
            elif ch == "\n":
                out.append("\\n")
            elif 32 <= code < 127:
                out.append(ch)
            else:
                out.extend("\\%d" % b for b in ch.encode("utf-8"))
        out.append('"')
        return "".join(out)
    if isinstance(value, list):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        items = ("[%s] = %s" % (lua_literal(str(k)), lua_literal(v)) for k, v in value.items() if v is not None)
        return "{" + ", ".join(items) + "}"
    raise TypeError("cannot render %r as Lua" % (value,))


def render_configmap(script):
    indented = "".join("    " + line if line.strip() else "\n" for line in script.splitlines(keepends=True))
    return (
        CONFIGMAP_HEADER
        + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n  namespace: argocd\n"
        + "  labels:\n    app.kubernetes.io/name: argocd-cm\n    app.kubernetes.io/part-of: argocd\n"
        + "data:\n  %s: |\n%s" % (HEALTH_KEY, indented)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lua", default="lua5.1", help="Lua 5.1 interpreter (default: lua5.1)")
    parser.add_argument("--write-configmap", action="store_true", help="rewrite argocd-cm.yaml")
    args = parser.parse_args()

    script = (ARGOCD / "health.lua").read_text()
    configmap_path = ARGOCD / "argocd-cm.yaml"
    if args.write_configmap:
        configmap_path.write_text(render_configmap(script))
    configmap = yaml.safe_load(configmap_path.read_text())
    if configmap.get("data", {}).get(HEALTH_KEY) != script:
        print("argocd-cm.yaml does not embed health.lua verbatim; run: "
              "python3 deploy/argocd/test/run.py --write-configmap", file=sys.stderr)
        return 1

    spec = yaml.safe_load((ARGOCD / "health_test.yaml").read_text())
    cases = []
    for test in spec["tests"]:
        path = ARGOCD / test["inputPath"]
        want = test["healthStatus"]
        cases.append({
            "name": path.stem,
            "obj": yaml.safe_load(path.read_text()),
            "status": want["status"],
            "message": want.get("message"),
        })
    listed = {ARGOCD / t["inputPath"] for t in spec["tests"]}
    unlisted = sorted(p.name for p in (ARGOCD / "testdata").glob("*.yaml") if p not in listed)
    if unlisted:
        print("fixtures without an expected status in health_test.yaml: %s" % ", ".join(unlisted), file=sys.stderr)
        return 1
    statuses = {c["status"] for c in cases}
    missing = {"Healthy", "Progressing", "Degraded", "Suspended"} - statuses
    if missing:
        print("no fixture covers: %s" % ", ".join(sorted(missing)), file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        cases_path = pathlib.Path(tmp) / "cases.lua"
        cases_path.write_text("return " + lua_literal(cases) + "\n")
        return subprocess.run([args.lua, str(HERE / "runner.lua"), str(ARGOCD / "health.lua"), str(cases_path)]).returncode


if __name__ == "__main__":
    sys.exit(main())
