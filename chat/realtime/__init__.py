"""The real-time runtime."""
