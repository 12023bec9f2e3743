"""evalrun: Preparedness-style safety evaluations of open-weight models on vLLM.

The repository root is this package; its parts are
`evals` (what an eval is), `suites` (suites as data), `runner` (how a suite
runs) and `reports` (what people and CI read).
"""

__version__ = "0.1.0"
