// The account page's browser-notification buttons: register /sw.js, subscribe
// with the server's VAPID key, and store the subscription
// (POST /api/push/subscriptions/); turning it off deletes it on both sides.

import { gettext, sendJson } from "./lib/util.js";

const API = "/api/push/subscriptions/";

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const text = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

async function bindPush() {
  const section = document.getElementById("push-settings");
  const key = section?.dataset.vapidKey;
  const status = document.getElementById("push-status");
  const on = document.getElementById("push-subscribe");
  const off = document.getElementById("push-unsubscribe");
  if (!key || !on || !off) return;
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    status.textContent = gettext("This browser cannot show notifications from the server.");
    return;
  }
  let registration;
  try {
    registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch {
    // Not a secure context (plain HTTP on another host than localhost), say.
    status.textContent = gettext("This browser cannot show notifications from the server.");
    return;
  }
  const show = (subscription) => {
    on.hidden = Boolean(subscription);
    off.hidden = !subscription;
    status.textContent = subscription
      ? gettext("Browser notifications are on in this browser.")
      : gettext("Browser notifications are off in this browser.");
  };
  show(await registration.pushManager.getSubscription());
  on.addEventListener("click", async () => {
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        status.textContent = gettext("Notifications are blocked for this site in the browser.");
        return;
      }
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(key),
      });
      await sendJson("POST", API, subscription.toJSON());
      show(subscription);
    } catch (error) {
      status.textContent = error.detail || gettext("Browser notifications could not be turned on.");
    }
  });
  off.addEventListener("click", async () => {
    const subscription = await registration.pushManager.getSubscription();
    if (subscription) {
      try {
        await sendJson("DELETE", API, { endpoint: subscription.endpoint });
      } catch {
        // Not stored on the server (any more): unsubscribing here is enough.
      }
      await subscription.unsubscribe();
    }
    show(null);
  });
}

bindPush();
