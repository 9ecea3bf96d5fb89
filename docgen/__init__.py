"""Reviewer documents generated from the app: the architecture diagram and the data-model sheet."""
