// Being told: the tab title and favicon carry the unread count ("(3) Chat"),
// and with the tab hidden a direct message raises a desktop notification
// (asked for with a button, never on load); a click opens the conversation.
// So does a room message that mentions me (@me, or @all). A muted
// conversation does neither.

import { directKey } from "../lib/store.js";

const ICON = "/static/chat/icon.svg";

/** The favicon with a red count on it, drawn on a canvas (img-src allows data:). */
function faviconWithCount(count, done) {
  const image = new Image();
  image.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 64;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0, 64, 64);
    context.fillStyle = "#c0161c";
    context.beginPath();
    context.arc(44, 20, 20, 0, 2 * Math.PI);
    context.fill();
    context.fillStyle = "#ffffff";
    context.font = "bold 28px sans-serif";
    context.textAlign = "center";
    context.textBaseline = "middle";
    context.fillText(count > 99 ? "99+" : String(count), 44, 21);
    done(canvas.toDataURL("image/png"));
  };
  image.onerror = () => done(ICON);
  image.src = ICON;
}

export function bindTitle(store) {
  let base = document.title;
  const link = document.getElementById("favicon");
  let shown = 0;
  const draw = () => {
    const count = store.unreadTotal();
    document.title = count ? `(${count}) ${base}` : base;
    if (!link || count === shown) return;
    shown = count;
    if (!count) link.href = ICON;
    else faviconWithCount(count, (href) => {
      if (shown === count) link.href = href;
    });
  };
  store.subscribe(draw);
  // A renamed room: "old · Chat" becomes "new · Chat".
  document.addEventListener("chat:title", (event) => {
    const cut = base.lastIndexOf(" · ");
    base = cut >= 0 ? `${event.detail}${base.slice(cut)}` : event.detail;
    draw();
  });
}

function wantsNotification(frame, me) {
  if (frame.type !== "message" || frame.sender.id === me.id || frame.deleted) return false;
  return frame.room === null || (frame.mentions || []).includes(me.id);
}

export function bindNotifications({ me, store }) {
  const button = document.getElementById("enable-notifications");
  const supported = "Notification" in window;
  const showButton = () => {
    if (button) button.hidden = !supported || Notification.permission !== "default";
  };
  showButton();
  button?.addEventListener("click", async () => {
    try {
      await Notification.requestPermission();
    } finally {
      showButton();
    }
  });
  return (frame) => {
    if (!supported || Notification.permission !== "granted") return;
    if (document.visibilityState === "visible") return;
    if (!wantsNotification(frame, me)) return;
    const key = directKey(frame.sender.username);
    if (store.isMuted(key)) return;
    const href = `/dm/${encodeURIComponent(frame.sender.username)}/`;
    const notification = new Notification(frame.sender.username, {
      body: frame.body.slice(0, 200),
      tag: key,
      icon: ICON,
      lang: document.documentElement.lang,
    });
    notification.addEventListener("click", () => {
      window.focus();
      if (location.pathname !== href) location.assign(href);
      notification.close();
    });
  };
}

