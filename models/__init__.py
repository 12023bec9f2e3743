"""Which model a run evaluates: references to model files, their variants, and the built-in demo model."""
