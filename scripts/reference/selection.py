"""Reference values for PMG's selection maths (src/scoring/selection.ts), computed independently with numpy.

z = alpha * log(max(dp, eps)) + (1 - alpha) * log(max(dt, eps)), eps = 1e-4; winner = argmax z, ties -> lower
preference weight. Run: python3 scripts/reference/selection.py > src/scoring/reference/selection.json
"""
import json
import numpy as np

EPS = 1e-4
cases = [
    {"alpha": 2 / 3, "candidates": [{"wp": 1, "wt": 1, "dp": 24.5, "dt": 31.2}, {"wp": 2, "wt": 1, "dp": 27.9, "dt": 29.0}]},
    {"alpha": 0.5, "candidates": [{"wp": 2, "wt": 1, "dp": 22.0, "dt": 33.0}, {"wp": 3, "wt": 1, "dp": 25.0, "dt": 26.0}]},
    {"alpha": 0.0, "candidates": [{"wp": 1, "wt": 1, "dp": 10.0, "dt": 30.0}, {"wp": 2, "wt": 1, "dp": 35.0, "dt": 29.9}]},
    {"alpha": 1.0, "candidates": [{"wp": 1, "wt": 1, "dp": 10.0, "dt": 30.0}, {"wp": 2, "wt": 1, "dp": 35.0, "dt": 29.9}]},
    {"alpha": 0.8, "candidates": [{"wp": 0.5, "wt": 1, "dp": -3.0, "dt": 20.0}, {"wp": 1.0, "wt": 1, "dp": 0.0, "dt": 25.0}, {"wp": 1.5, "wt": 1, "dp": 18.0, "dt": 1e-9}]},
    {"alpha": 2 / 3, "candidates": [{"wp": 2, "wt": 1, "dp": 20.0, "dt": 20.0}, {"wp": 1, "wt": 1, "dp": 20.0, "dt": 20.0}]},
]
out = []
for case in cases:
    a = case["alpha"]
    dp = np.array([c["dp"] for c in case["candidates"]], dtype=np.float64)
    dt = np.array([c["dt"] for c in case["candidates"]], dtype=np.float64)
    z = a * np.log(np.maximum(dp, EPS)) + (1 - a) * np.log(np.maximum(dt, EPS))
    best = max(range(len(z)), key=lambda i: (z[i], -case["candidates"][i]["wp"], -case["candidates"][i]["wt"]))
    out.append({**case, "z": z.tolist(), "chosen": best})
print(json.dumps({"source": "scripts/reference/selection.py (numpy " + np.__version__ + ")", "epsilon": EPS, "cases": out}, indent=1))
