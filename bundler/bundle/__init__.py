"""The bundle format: its manifest (bundle.json), reproducible zips, the runtime layer's files,
Lambda's limits, and reading a bundle back (inspect).
"""
