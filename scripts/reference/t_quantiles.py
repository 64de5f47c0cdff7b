#!/usr/bin/env python3
"""Two-sided 95% Student-t quantiles t(0.975, df) for the eval report's confidence intervals.

Made with scipy.stats.t.ppf (independent of pmg's code); writes src/experiments/reference/t-quantiles.json.
Run: python3 scripts/reference/t_quantiles.py
"""
import json, datetime, os, scipy
from scipy.stats import t, norm

dfs = list(range(1, 101))
out = {
    "what": "t.ppf(0.975, df) for df = 1..100; above 100 pmg interpolates towards the normal quantile",
    "made_by": "scripts/reference/t_quantiles.py with scipy %s on %s" % (scipy.__version__, datetime.date.today().isoformat()),
    "normal": float(norm.ppf(0.975)),
    "df": dfs,
    "t": [float(t.ppf(0.975, d)) for d in dfs],
    "check": {str(d): float(t.ppf(0.975, d)) for d in [150, 200, 500, 1000]},
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "src", "experiments", "reference", "t-quantiles.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
