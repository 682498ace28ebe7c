// The service worker of the chat's Web Push (served as /sw.js, scope "/").
//
// A "message" push shows a notification tagged per conversation, so that a
// newer one replaces it; a "read" push (sent once the conversation was read
// elsewhere) closes it and shows nothing. A click opens the conversation, in a
// tab of ours already open if there is one.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function payloadOf(event) {
  if (!event.data) return null;
  try {
    return event.data.json();
  } catch {
    return null;
  }
}

async function closeTagged(tag) {
  const shown = await self.registration.getNotifications({ tag });
  for (const notification of shown) notification.close();
}

self.addEventListener("push", (event) => {
  const data = payloadOf(event);
  if (!data || typeof data.tag !== "string") return;
  if (data.type === "read") {
    event.waitUntil(closeTagged(data.tag));
    return;
  }
  if (data.type !== "message") return;
  event.waitUntil(
    self.registration.showNotification(String(data.title || ""), {
      body: String(data.body || ""),
      tag: data.tag,
      renotify: true,
      icon: "/static/chat/icon.svg",
      data: { url: typeof data.url === "string" ? data.url : "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = event.notification.data?.url || "/";
  const target = new URL(path, self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (new URL(client.url).origin === target.origin && "navigate" in client) {
          await client.focus();
          return client.navigate(target.href);
        }
      }
      return self.clients.openWindow(target.href);
    })(),
  );
});
