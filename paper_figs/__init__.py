"""Plotting of result files written by ``simulations/`` (reads only results, never logitreg)."""
