#!/usr/bin/env python3
"""Generates docs/spec-reference.md from the CustomResourceDefinitions in crds/.

The reference is the CRD's own OpenAPI schema rendered as tables: every field with its type,
default, validation (enums, ranges, patterns, CEL rules with their messages) and description. The
descriptions are the Rust doc comments of the operator's API types, so the reference changes only
when the API does, and cannot drift: `--check` (run by hack/test-deploy.sh) fails when the
committed file differs from what this script renders.

Usage: python3 hack/gen-spec-reference.py [--check] [--crds DIR] [--out FILE]
"""

import argparse
import json
import re
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def escape_html(text):
    """Escapes < and > outside `code spans`, so `<key,value>` in a description is shown, not parsed."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def one_line(text):
    """A description as one Markdown table cell: paragraphs joined, pipes and HTML escaped."""
    if not text:
        return ""
    paragraphs = [escape_html(" ".join(p.split())) for p in text.strip().split("\n\n")]
    return "<br>".join(p for p in paragraphs if p).replace("|", "\\|")


def code(value):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("|", "\\|")
    return "``%s``" % text if "`" in text else "`%s`" % text


def type_of(schema):
    """The field's type as a reader would write it: string, integer (int32), []object, map[string]string."""
    if schema.get("x-kubernetes-int-or-string"):
        return "integer or string"
    kind = schema.get("type")
    if kind == "array":
        return "[]" + type_of(schema.get("items", {}))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict) and "properties" not in schema:
        return "map[string]" + type_of(schema["additionalProperties"])
    if kind is None:
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return " or ".join(sorted({type_of(s) for s in schema[key]}))
        return "any" if schema.get("x-kubernetes-preserve-unknown-fields") else "object"
    if schema.get("format") and kind in ("integer", "number", "string"):
        return "%s (%s)" % (kind, schema["format"])
    return kind


def constraints(schema):
    """Validation the API server applies to this field, as short phrases."""
    out = []
    if "enum" in schema:
        out.append("one of " + ", ".join(code(v) for v in schema["enum"]))
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if lo is not None and hi is not None:
        out.append("%s to %s" % (fmt_num(lo), fmt_num(hi)))
    elif lo is not None:
        out.append("at least %s" % fmt_num(lo))
    elif hi is not None:
        out.append("at most %s" % fmt_num(hi))
    for key, phrase in (("minLength", "min length"), ("maxLength", "max length"),
                        ("minItems", "min items"), ("maxItems", "max items"),
                        ("minProperties", "min entries"), ("maxProperties", "max entries")):
        if key in schema:
            out.append("%s %s" % (phrase, schema[key]))
    if "pattern" in schema:
        out.append("pattern " + code(schema["pattern"]))
    if schema.get("nullable"):
        out.append("may be null")
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict) and child_object(items) is None:
        each = constraints(items)
        if each:
            out.append("each: " + each)
    if schema.get("x-kubernetes-list-type") in ("set", "map"):
        out.append("list type " + schema["x-kubernetes-list-type"])
    return "; ".join(out)


def fmt_num(n):
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)


def child_object(schema):
    """The object schema documented under a field of this schema, if any (itself, list items, map values)."""
    if schema.get("type") == "array":
        return child_object(schema.get("items", {}))
    if schema.get("type") == "object" and "properties" in schema:
        return schema
    if isinstance(schema.get("additionalProperties"), dict):
        return child_object(schema["additionalProperties"])
    return None


def child_path(path, name, schema):
    path = "%s.%s" % (path, name)
    node = schema
    while True:
        if node.get("type") == "array":
            path += "[]"
            node = node.get("items", {})
        elif node.get("type") == "object" and "properties" not in node and isinstance(node.get("additionalProperties"), dict):
            path += "[key]"
            node = node["additionalProperties"]
        else:
            return path


def render_object(path, schema, lines):
    """A section for one object: its fields, then its CEL rules, then one section per nested object."""
    lines.append("### `%s`" % path)
    lines.append("")
    if schema.get("description") and path.count(".") > 0:
        lines.append(one_line(schema["description"]).replace("<br>", "\n\n"))
        lines.append("")
    required = set(schema.get("required", []))
    props = schema.get("properties", {})
    if props:
        lines.append("| Field | Type | Required | Default | Validation | Description |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for name in sorted(props):
            field = props[name]
            shown_name = "`%s`" % name
            if child_object(field) is not None:
                anchor = anchor_of(child_path(path, name, field))
                shown_name = "[`%s`](#%s)" % (name, anchor)
            rules = [r.get("message") or r.get("rule") for r in field.get("x-kubernetes-validations", [])
                     if child_object(field) is None]
            validation = "; ".join(x for x in [constraints(field)] + [one_line(r) for r in rules] if x)
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                shown_name,
                type_of(field),
                "yes" if name in required else "",
                code(field["default"]) if "default" in field else "",
                validation,
                one_line(field.get("description", "")),
            ))
        lines.append("")
    rules = schema.get("x-kubernetes-validations", [])
    if rules:
        lines.append("Rules checked by the API server on `%s` (CEL):" % path)
        lines.append("")
        lines.append("| Rule | Message when violated |")
        lines.append("| --- | --- |")
        for rule in rules:
            message = rule.get("message") or rule.get("messageExpression") or ""
            lines.append("| %s | %s |" % (code(" ".join(rule["rule"].split())), one_line(message)))
        lines.append("")
    for name in sorted(props):
        nested = child_object(props[name])
        if nested is not None:
            render_object(child_path(path, name, props[name]), nested, lines)


def anchor_of(path):
    """GitHub's heading anchor for a heading that is just `path` in backticks."""
    return "".join(c for c in path.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


def render_crd(crd, source, lines):
    spec = crd["spec"]
    names = spec["names"]
    lines.append("## %s (`%s`)" % (names["kind"], crd["metadata"]["name"]))
    lines.append("")
    lines.append("| | |")
    lines.append("| --- | --- |")
    lines.append("| Group | `%s` |" % spec["group"])
    lines.append("| Kind | `%s` (list: `%s`) |" % (names["kind"], names.get("listKind", names["kind"] + "List")))
    lines.append("| Plural, singular | `%s`, `%s` |" % (names["plural"], names.get("singular", names["kind"].lower())))
    if names.get("shortNames"):
        lines.append("| Short names | %s |" % ", ".join("`%s`" % s for s in names["shortNames"]))
    if names.get("categories"):
        lines.append("| Categories | %s |" % ", ".join("`%s`" % s for s in names["categories"]))
    lines.append("| Scope | %s |" % spec["scope"])
    lines.append("| Source | `%s` |" % source)
    lines.append("")
    for version in spec["versions"]:
        flags = [f for f, on in (("served", version.get("served")), ("storage version", version.get("storage"))) if on]
        if version.get("deprecated"):
            flags.append("deprecated")
        lines.append("Version `%s` (%s)." % (version["name"], ", ".join(flags)))
        lines.append("")
        subresources = version.get("subresources", {})
        if subresources:
            described = []
            if "status" in subresources:
                described.append("`status` (the operator writes it; `kubectl edit` cannot)")
            if "scale" in subresources:
                scale = subresources["scale"]
                described.append("`scale` (`kubectl scale` sets `%s`)" % scale.get("specReplicasPath", "").lstrip("."))
            lines.append("Subresources: " + ", ".join(described) + ".")
            lines.append("")
        columns = version.get("additionalPrinterColumns", [])
        if columns:
            lines.append("Columns of `kubectl get %s`:" % names["plural"])
            lines.append("")
            lines.append("| Column | Type | From | Description |")
            lines.append("| --- | --- | --- | --- |")
            for col in columns:
                lines.append("| %s | %s | `%s` | %s |" % (col["name"].upper(), col["type"], col["jsonPath"],
                                                        one_line(col.get("description", ""))))
            lines.append("")
        schema = version["schema"]["openAPIV3Schema"]
        # kube-rs describes the root as "Auto-generated derived type for ...": not for readers.
        if schema.get("description") and not schema["description"].startswith("Auto-generated"):
            lines.append(one_line(schema["description"]).replace("<br>", "\n\n"))
            lines.append("")
        for top in ("spec", "status"):
            if top in schema.get("properties", {}):
                render_object(top, schema["properties"][top], lines)


def render(crd_dir):
    lines = [
        "# API reference",
        "",
        "<!-- Generated by hack/gen-spec-reference.py from crds/*.yaml. Do not edit by hand: change the",
        "     operator's API types, regenerate the CRD, then run `python3 hack/gen-spec-reference.py`. -->",
        "",
        "Every field of every custom resource this operator serves, read from the CustomResourceDefinition",
        "the API server enforces. Defaults are filled in by the API server, so `kubectl get -o yaml` shows",
        "them; every validation below is checked by `kubectl apply` before the operator sees the object.",
        "",
    ]
    files = sorted(crd_dir.glob("*.yaml"))
    if not files:
        raise SystemExit("no CRD files in %s" % crd_dir)
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                render_crd(doc, path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name, lines)
    return "\n".join(lines).rstrip() + "\n"


def broken_links(reference, readme):
    """Links from the README into the reference whose anchors the reference does not have."""
    anchors = {anchor_of(line.lstrip("#").strip().strip("`")) for line in reference.splitlines() if line.startswith("#")}
    links = re.findall(r"docs/spec-reference\.md#([A-Za-z0-9_-]+)", readme)
    return sorted({link for link in links if link not in anchors})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="fail if the committed file is stale or README.md links to a missing section")
    parser.add_argument("--crds", type=pathlib.Path, default=ROOT / "crds")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "docs" / "spec-reference.md")
    args = parser.parse_args()
    text = render(args.crds)
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print("%s is stale: run `python3 hack/gen-spec-reference.py`" % args.out, file=sys.stderr)
            return 1
        readme = ROOT / "README.md"
        broken = broken_links(text, readme.read_text()) if readme.exists() else []
        if broken:
            print("README.md links to sections the reference does not have: %s" % ", ".join(broken), file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
