"""lambundle's Lambda runtime: stdlib only, imported on every cold start.

Inside Lambda this package is `_lambundle_runtime`; its modules import each other
relatively so the name does not matter. Nothing here runs at import time.
"""
