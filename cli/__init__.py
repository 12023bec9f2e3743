"""The `evalrun` command line: the top layer, composing runner, modify and reports.

Only click and the standard library are imported at start-up; everything else loads inside a command.
"""
