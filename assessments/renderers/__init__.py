"""Renderers: what selectors give, as PDF pages, SVG figures and export files."""
