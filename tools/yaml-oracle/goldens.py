#!/usr/bin/env python3
"""Regenerates the go-yaml goldens of tests/yaml/go-yaml from the reference implementation.

For each NAME.yaml, `kubectl kustomize` (kustomize reads resources with go-yaml) loads the file as
the only resource of a kustomization; its output is converted to JSON and written to NAME.json as
{"documents": [...]} or, when go-yaml rejects the file, {"error": true}. The Rust test
`tests/yaml_differential.rs` compares kgate's loader with these goldens (and with the oracle live
when it is installed).

Usage: tools/yaml-oracle/goldens.py [KUBECTL]   (default: $KGATE_ORACLE_VENV/bin/kubectl or
/opt/oracles/bin/kubectl; needs PyYAML in the same venv)
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "tests" / "yaml" / "go-yaml"


def kubectl_path():
    if len(sys.argv) > 1:
        return sys.argv[1]
    venv = os.environ.get("KGATE_ORACLE_VENV", "/opt/oracles")
    return os.path.join(venv, "bin", "kubectl")


def oracle(kubectl, source):
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(source, os.path.join(tmp, "input.yaml"))
        with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
            f.write("resources:\n- input.yaml\n")
        run = subprocess.run([kubectl, "kustomize", tmp], capture_output=True, text=True)
        if run.returncode != 0:
            return {"error": True}
        # kustomize writes YAML 1.2-safe output (strings that YAML 1.1 would read otherwise are
        # quoted), so PyYAML reads it back faithfully.
        return {"documents": [d for d in yaml.safe_load_all(run.stdout) if d is not None]}


def main():
    kubectl = kubectl_path()
    for source in sorted(CORPUS.glob("*.yaml")):
        result = oracle(kubectl, source)
        target = source.with_suffix(".json")
        target.write_text(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"{source.name}: {'rejected' if 'error' in result else len(result['documents'])}")


if __name__ == "__main__":
    main()
