"""Shipping to AWS: publish, the SAM template, and compare measured on Lambda itself."""
