"""Data tooling for the stage's DynamoDB tables: seed, scan, describe, drop, access patterns.

Each module exposes plain functions (tested against moto and DynamoDB Local); `scripts.cli`
wraps them as `python -m scripts <command>` and `make <command>`.
"""
