"""The references the benchmark measures beside our server; not part of the product.

- `tutorial`: a consumer written the way the Channels tutorial writes one, on the
  same daphne and the same channel layer as ours (`bench.reference.settings`).
- `bare`: a plain ASGI broadcast app on daphne, no Channels: the server's ceiling.

Both speak the bench's common shape: `hello` on connect, `ack` (echoing the
`client_id`) to a `message.send`, a `message` frame to every member of the room,
the sender included, and `pong` to the text `ping`. Neither stores nor
authenticates anything.
"""
