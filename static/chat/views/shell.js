// The app shell: the sidebar as a drawer on phones, the details pane on
// demand, notices that go away, and the per-conversation mute button.

import { gettext } from "../lib/util.js";

const NOTICE_SHOWN_MS = 6000;

export function bindDrawer() {
  const button = document.getElementById("drawer-button");
  const sidebar = document.getElementById("sidebar");
  const backdrop = document.getElementById("drawer-backdrop");
  if (!button || !sidebar) return;
  const set = (open) => {
    document.body.classList.toggle("drawer-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (backdrop) backdrop.hidden = !open;
    if (open) sidebar.querySelector("a")?.focus();
  };
  button.addEventListener("click", () => set(!document.body.classList.contains("drawer-open")));
  backdrop?.addEventListener("click", () => set(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.classList.contains("drawer-open")) {
      set(false);
      button.focus();
    }
  });
}

export function bindDetails() {
  const button = document.getElementById("details-button");
  const details = document.getElementById("details");
  const close = document.getElementById("details-close");
  if (!button || !details) return;
  const set = (open) => {
    details.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) details.querySelector("h2")?.setAttribute("tabindex", "-1");
    if (open) details.querySelector("h2")?.focus();
  };
  button.addEventListener("click", () => set(details.hidden));
  close?.addEventListener("click", () => {
    set(false);
    button.focus();
  });
}

/** Notices ("You joined …") float over the page and leave by themselves. */
export function bindNotices() {
  const notices = document.getElementById("notices");
  if (!notices) return;
  const dismiss = () => notices.remove();
  for (const button of notices.querySelectorAll("button.dismiss")) {
    button.addEventListener("click", dismiss);
  }
  setTimeout(dismiss, NOTICE_SHOWN_MS);
}

export function bindMute(store, key) {
  const button = document.getElementById("mute-button");
  if (!button) return;
  const draw = () => {
    const muted = store.isMuted(key);
    button.setAttribute("aria-pressed", muted ? "true" : "false");
    button.textContent = muted ? gettext("Unmute") : gettext("Mute");
    button.title = muted
      ? gettext("Muted: no count in the tab title, no desktop notification")
      : gettext("Mute: no count in the tab title, no desktop notification");
  };
  button.hidden = false;
  button.addEventListener("click", () => store.setMuted(key, !store.isMuted(key)));
  store.subscribe(draw);
  draw();
}
