"""The MCP face: tools, a resource, and their three transports.

    server.py         build_mcp_server(services, agent_id, principal): the one factory
    tools.py          store_memory, log_decision, search_memories, forget_memory
    session_tools.py  start_session, end_session, get_session_context + the resource
    args.py           argument types taken from the core's models
    shapes.py         compact views of core results
    errors.py         the one translation of failures into tool errors
    ports.py          what the tools need from the core (Services or RemoteServices)
    stdio.py          stdio, as the trusted local principal
    http.py           /mcp and /sse behind the API-key gate
    remote.py         RemoteServices: the tools over another server's REST API

Importing this package imports none of them, so the stdio path stays light.
"""
