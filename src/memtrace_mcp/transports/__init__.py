"""The faces: REST, MCP. Each is a thin adapter over the services."""
