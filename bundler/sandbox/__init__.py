"""The local Lambda: lays a bundle directory out, runs it under bubblewrap, serves the Runtime
API and the invoke endpoint, emulates the managed runtime.
"""
