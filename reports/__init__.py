"""What people and CI systems read: HTML reports, the index of runs, the gate."""
