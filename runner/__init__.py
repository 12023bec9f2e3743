"""How a suite gets executed: CLI, plan, engines, journal, modifications."""
