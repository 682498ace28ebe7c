"""The real-time runtime: what moves a message from one socket to the others.

The path of a message sent over a WebSocket:

1. chat.consumers reads the frame and hands it to the writer (writer.py).
2. The writer stores the waiting messages as one batch on its own thread
   (chat.services.messages.store_messages), then answers each sender: ack.
3. The publisher (writer.py) hands each new message to this process's members
   of its groups at once (hub.py), then queues it for the channel layer.
4. One task sends the queue to the layer, a layer message per group and run
   (publishing.py); what fails is kept and sent again after the outage.
5. In every process the hub hears its groups' layer messages (layer.py,
   redis_layer.py, memory_layer.py), drops its own echoes by their tag, and
   writes the same ready text to each member's socket.
6. HTTP, the admin and manage.py store with send_message; once that commits,
   chat.events hands the message to the same publisher (publishing.py).

runtime.py owns every background job; connections.py keeps the sockets
(heartbeat, group renewal, catch-up), shutdown.py drains on SIGTERM.
"""
