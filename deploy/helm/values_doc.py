#!/usr/bin/env python3
"""Renders the values table of the Helm chart's README from values.yaml and values.schema.json.

Every value documented with a `# -- ` comment in values.yaml gets a row: its dotted key, type (from
the schema), default (from values.yaml) and description (the comment). The table sits between the
`<!-- values:start -->` and `<!-- values:end -->` markers of deploy/helm/tetris-operator/README.md.

`--check` (run by hack/test-deploy.sh) fails when that table is stale, when a value has no
`# -- ` description, or when the project README's table of chart values names a key values.yaml
does not have.

Usage: python3 deploy/helm/values_doc.py [--check]
"""

import argparse
import json
import pathlib
import re
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent
CHART = HERE / "tetris-operator"
ROOT = HERE.parent.parent
START, END = "<!-- values:start -->", "<!-- values:end -->"


def documented_keys(text):
    """(dotted key, description) for each key in values.yaml, in file order."""
    out, stack, doc = [], [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# -- "):
            doc = [stripped[len("# -- "):]]
        elif stripped.startswith("#") and doc is not None:
            doc.append(stripped.lstrip("#").strip())
        elif not stripped:
            doc = None
        else:
            match = re.match(r"^( *)([A-Za-z0-9_]+):", line)
            if match is None:
                doc = None
                continue
            depth = len(match.group(1)) // 2
            stack = stack[:depth] + [match.group(2)]
            out.append((".".join(stack), " ".join(doc) if doc else None))
            doc = None
    return out


def lookup(tree, dotted):
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def schema_type(schema, dotted):
    node = schema
    for part in dotted.split("."):
        node = node.get("properties", {}).get(part, {})
        if "$ref" in node:
            node = lookup(schema, node["$ref"].lstrip("#/").replace("/", "."))
    if "type" in node:
        return node["type"]
    if "oneOf" in node:
        return " or ".join(sorted({s.get("type", "?") for s in node["oneOf"]}))
    if "additionalProperties" in node:
        return "object"
    return ""


def render(values_text, values, schema):
    rows = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for key, doc in documented_keys(values_text):
        if doc is None:
            continue
        default = json.dumps(lookup(values, key), sort_keys=True)
        rows.append("| `%s` | %s | `%s` | %s |" % (key, schema_type(schema, key), default, doc.replace("|", "\\|")))
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail instead of writing when the table is stale")
    args = parser.parse_args()
    values_text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(values_text)
    schema = json.loads((CHART / "values.schema.json").read_text())
    problems = []

    # A leaf without its own description is fine under a documented parent (e.g. image.repository).
    keys = documented_keys(values_text)
    documented = [k for k, d in keys if d is not None]
    for key, doc in keys:
        if doc is None and not isinstance(lookup(values, key), dict):
            if not any(key.startswith(parent + ".") for parent in documented):
                problems.append("values.yaml: %s has no `# -- ` description" % key)

    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    if START not in readme or END not in readme:
        problems.append("%s lacks the %s / %s markers" % (readme_path, START, END))
    else:
        before, rest = readme.split(START, 1)
        _, after = rest.split(END, 1)
        updated = before + START + "\n" + render(values_text, values, schema) + "\n" + END + after
        if updated != readme:
            if args.check:
                problems.append("%s is stale: run python3 deploy/helm/values_doc.py" % readme_path)
            else:
                readme_path.write_text(updated)

    # The project README's table of the most-used values must name real keys.
    # Only the Helm section's tables name chart values; other tables name TetrisApp fields.
    project_readme = (ROOT / "README.md").read_text()
    helm = re.search(r"^### With Helm\n(.*?)(?=^#{1,3} )", project_readme, flags=re.M | re.S)
    helm_section = helm.group(1) if helm else project_readme
    for row in re.findall(r"^\| (`[^|]+`) \|", helm_section, flags=re.M):
        for key in re.findall(r"`([A-Za-z0-9_.]+)`", row):
            if "." in key or key in values:
                try:
                    lookup(values, key)
                except KeyError:
                    problems.append("README.md names chart value %s, which values.yaml does not have" % key)

    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
