"""Built-in evals, one small file each; importing a module registers its evals."""
