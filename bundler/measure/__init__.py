"""compare: every strategy and the baseline bundled, started cold and warm in the sandbox,
reported as table, JSON and plot.
"""
