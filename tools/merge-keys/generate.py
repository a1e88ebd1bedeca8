#!/usr/bin/env python3
"""Writes src/plan/merge_keys.tsv: the list merge keys of every built-in Kubernetes kind.

Usage: tools/merge-keys/generate.py [K8S_OPENAPI_SRC] [VERSION]
  K8S_OPENAPI_SRC: the k8s-openapi crate source (default: k8s-openapi-0.29.0 in the cargo
  registry, the release tools/schema-gen uses for Kubernetes 1.33-1.37); VERSION: its module,
  default v1_37 (kgate's default Kubernetes version).

Why from k8s-openapi: it is the generator input of the schema bundles (tools/schema-gen), and it
turns the OpenAPI's `x-kubernetes-patch-merge-key` (or, without one, `x-kubernetes-list-map-keys`)
of every list field into a `merge_strategies::list::map` call of the type's `DeepMerge` impl; the
JSON schemas schemars writes from it carry no such extension. This script reads those calls, the
struct field types and the JSON names of the fields (the `Deserialize` impls), then walks every
resource kind from its root type and writes one line per keyed list field:

    group<TAB>kind<TAB>path<TAB>key

`path` is the list field's JSON path from the object root with list items left out
(`spec.template.spec.containers.ports`). Lists keyed by several fields (rare, status only) are
left out: kgate names a list item by one key. Deterministic: sorted, no timestamps.
"""
import glob
import os
import re
import sys


def default_src():
    home = os.path.expanduser("~/.cargo/registry/src")
    hits = sorted(glob.glob(os.path.join(home, "*", "k8s-openapi-0.29.0")))
    if not hits:
        sys.exit("k8s-openapi-0.29.0 not in the cargo registry; pass its source folder")
    return hits[0]


src = sys.argv[1] if len(sys.argv) > 1 else default_src()
version = sys.argv[2] if len(sys.argv) > 2 else "v1_37"
root = os.path.join(src, "src", version)
if not os.path.isdir(root):
    sys.exit(f"{root}: no such module")

STRUCT = re.compile(r"^pub struct (\w+) \{(.*?)^\}", re.S | re.M)
FIELD = re.compile(r"^    pub (r#)?(\w+): (.+),$", re.M)
JSON_NAME = re.compile(r'"([^"]+)" => Field::Key_(\w+),')
RESOURCE = re.compile(
    r"impl crate::Resource for (\w+) \{.*?const GROUP: &'static str = \"([^\"]*)\";"
    r".*?const KIND: &'static str = \"([^\"]*)\";",
    re.S,
)
MERGE = re.compile(
    r"impl crate::DeepMerge for (\w+) \{(.*?)^\}", re.S | re.M)
LIST_MAP = re.compile(
    r"merge_strategies::list::map\(\s*&mut self\.(\w+),\s*other\.\w+,\s*&\[(.*?)\],", re.S)
KEY = re.compile(r"\|lhs, rhs\| lhs\.(\w+) == rhs\.\w+")
TYPE = re.compile(r"crate::([\w:]+)")

types = {}  # "api::core::v1::Container" -> {rust field: (json name, type text)}
keys = {}  # type -> {rust field: [rust key fields] }
resources = []  # (group, kind, type)
for path in sorted(glob.glob(os.path.join(root, "**", "*.rs"), recursive=True)):
    rel = os.path.relpath(os.path.dirname(path), root)
    module = "" if rel == "." else rel.replace(os.sep, "::") + "::"
    text = open(path, encoding="utf-8").read()
    names = dict((rust, json) for json, rust in JSON_NAME.findall(text))
    for m in STRUCT.finditer(text):
        fields = {}
        for f in FIELD.finditer(m.group(2)):
            rust = f.group(2)
            fields[rust] = (names.get(rust, rust), f.group(3))
        types[module + m.group(1)] = fields
    for m in MERGE.finditer(text):
        lists = {}
        for lm in LIST_MAP.finditer(m.group(2)):
            lists[lm.group(1)] = KEY.findall(lm.group(2)) if "metadata" not in lm.group(2) else []
        keys[module + m.group(1)] = lists
    for m in RESOURCE.finditer(text):
        resources.append((m.group(2), m.group(3), module + m.group(1)))


def element(type_text):
    """(is_list, crate type) of a field's type text; None for scalars and maps."""
    t = type_text
    if t.startswith("Option<") and t.endswith(">"):
        t = t[len("Option<"):-1]
    if t.startswith("std::boxed::Box<") and t.endswith(">"):
        t = t[len("std::boxed::Box<"):-1]
    is_list = False
    if t.startswith("std::vec::Vec<") and t.endswith(">"):
        t = t[len("std::vec::Vec<"):-1]
        is_list = True
    if not t.startswith("crate::") or "<" in t:
        return None
    return is_list, t[len("crate::"):]


def walk(type_name, prefix, stack, out):
    fields = types.get(type_name)
    if fields is None or type_name in stack:
        return
    stack.append(type_name)
    for rust, (json, type_text) in sorted(fields.items()):
        el = element(type_text)
        if el is None:
            continue
        is_list, child = el
        path = prefix + [json]
        if is_list:
            key = keys.get(type_name, {}).get(rust)
            if key is not None and len(key) == 1:
                json_key = types.get(child, {}).get(key[0], (key[0],))[0]
                out.add((".".join(path), json_key))
        walk(child, path, stack, out)
    stack.pop()


lines = set()
for group, kind, type_name in resources:
    found = set()
    walk(type_name, [], [], found)
    for path, key in found:
        lines.add(f"{group}\t{kind}\t{path}\t{key}")

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "plan", "merge_keys.tsv")
with open(out, "w", encoding="utf-8") as f:
    f.write(f"# Generated by tools/merge-keys/generate.py from k8s-openapi {os.path.basename(src)} {version}; do not edit.\n")
    f.write("# group\tkind\tpath (list items left out)\tmerge key\n")
    for line in sorted(lines):
        f.write(line + "\n")
print(f"{len(lines)} keyed list fields of {len(resources)} kinds -> {os.path.normpath(out)}")
