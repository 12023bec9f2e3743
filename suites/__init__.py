"""Suites as data: YAML files composing evals, and the project's own item files (data/)."""
