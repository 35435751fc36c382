"""Whole applications: every Python function of a SAM or CloudFormation template built in
one go, identical layers shared, and a deployable template written beside the artifacts.
"""
