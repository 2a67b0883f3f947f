"""The implementation behind :mod:`rtagents.mcp` (see its docstring); import from there."""
