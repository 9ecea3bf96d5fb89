"""Shared test support: local DynamoDB backends (moto server, DynamoDB Local) and helpers."""
