"""The HTTP API: the same services and selectors as the WebSocket."""
