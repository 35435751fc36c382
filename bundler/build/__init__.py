"""From a lock to a bundle directory: install, compile bytecode, slim, plan with a strategy,
write the zips.
"""
