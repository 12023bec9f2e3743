"""The run directory: its files, written atomically, and read back by every later command."""
