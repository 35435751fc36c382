"""Numerical work on request, as a data team's function does it: a linear system solved with
LAPACK (scipy.linalg), a root found, an integral taken and a two-sample t-test run, each
answer computed by numpy's and scipy's compiled code."""

import numpy as np
from scipy import integrate, linalg, optimize, stats


def handler(event, context):
    solution = linalg.solve(np.array(event["matrix"]), np.array(event["vector"]))
    root = optimize.brentq(lambda x: x**3 - 2 * x - 5, 2, 3)
    area, _ = integrate.quad(np.sin, 0, np.pi)
    test = stats.ttest_ind(event["control"], event["treatment"])
    return {
        "solution": [round(float(v), 9) for v in solution],
        "root": round(float(root), 9),
        "area": round(float(area), 9),
        "t": round(float(test.statistic), 6),
        "p": round(float(test.pvalue), 6),
        "numpy": np.__version__,
    }
