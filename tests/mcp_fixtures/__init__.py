"""Tiny MCP servers that the MCP client tests (tests/test_mcp.py) start as subprocesses."""
