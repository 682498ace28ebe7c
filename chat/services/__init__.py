"""Writes: every side effect of the chat lives in these modules.

The consumer, the HTTP API, the admin and the commands all call them. Each
service has an async form (`asend_message`) for the consumer and a sync form
(`send_message`) for everything else; both take the same keyword arguments.
"""
