"""Renders tests/helm/cases.json with Helm's own engine (PyPI helm-python-sdk) and prints the
results as JSON: {case: {"files": {template: text}} | {"error": message}}. Used by
tests/helm_diff.rs (live comparison, and KGATE_HELM_REGEN=1 to rewrite the goldens)."""
import json
import os
import sys

import helm_python

here = os.path.dirname(os.path.abspath(__file__))
cases = json.load(open(os.path.join(here, "cases.json")))
out = {}
for case in cases:
    chart = helm_python.Chart.load(os.path.join(here, "charts", case["chart"]))
    try:
        files = chart.render(case["values"], name=case["release"], namespace=case["namespace"])
        # helm template prints neither NOTES.txt nor partials.
        files = {k: v for k, v in files.items() if not k.endswith("NOTES.txt") and not os.path.basename(k).startswith("_")}
        out[case["name"]] = {"files": files}
    except helm_python.HelmError as e:
        out[case["name"]] = {"error": str(e)}
json.dump(out, sys.stdout, indent=1, sort_keys=True)
