"""Workflows that touch several models: one typed, keyword-only function each."""
