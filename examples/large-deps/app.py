"""A function with large native dependencies, imported at init as real functions do."""

import numpy as np
import pandas as pd


def handler(event, context):
    frame = pd.DataFrame({"x": np.arange(4), "y": np.arange(4) ** 2})
    return {"numpy": np.__version__, "pandas": pd.__version__, "sum_y": int(frame["y"].sum())}
