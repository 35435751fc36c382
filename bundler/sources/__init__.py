"""From a function directory to installed dependencies: the project and its requirement and
lock files, resolving for the target, wheels and sdists.
"""
