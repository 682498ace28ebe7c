// A muted user's page says why and until when: from the page's data at load,
// and from a `muted` error frame (its "until") when something was refused.
// The notice goes when the mute ends.

import { el, gettext, interpolate } from "../lib/util.js";

let timer = null;

export function showMuted({ until = null, reason = "" } = {}) {
  const notice = document.getElementById("muted-notice");
  if (!notice) return;
  clearTimeout(timer);
  const end = until ? new Date(until) : null;
  if (end && end.getTime() <= Date.now()) {
    notice.hidden = true;
    return;
  }
  const when = end
    ? interpolate(gettext("You are muted in this room until %(time)s."), {
        time: end.toLocaleString(document.documentElement.lang || undefined, {
          dateStyle: "medium",
          timeStyle: "short",
        }),
      })
    : gettext("You are muted in this room until a moderator lifts it.");
  const parts = [el("strong", { className: "muted-until", text: when })];
  if (reason) {
    parts.push(" ", el("span", { className: "muted-reason", text: interpolate(gettext("Reason: %(reason)s."), { reason }) }));
  }
  parts.push(" ", el("span", { text: gettext("You can still read it.") }));
  notice.replaceChildren(...parts);
  notice.hidden = false;
  if (end) {
    // Past about 24 days setTimeout fires at once: those stay until a reload.
    const wait = end.getTime() - Date.now();
    if (wait < 2 ** 31 - 1) timer = setTimeout(() => (notice.hidden = true), wait);
  }
}
