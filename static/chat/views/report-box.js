// "Report this message": a reason asked for in place, then POST
// /api/messages/<id>/report/; the room's moderators see it in their queue.

import { el, gettext, sendJson } from "../lib/util.js";

export function openReportBox(li, id) {
  li.querySelector(".report-box")?.remove();
  const reason = el("input", {
    className: "report-reason",
    maxLength: 1000,
    autocomplete: "off",
    "aria-label": gettext("Why are you reporting it?"),
    placeholder: gettext("Why are you reporting it?"),
  });
  const send = el("button", { type: "submit", className: "danger", text: gettext("Report") });
  const cancel = el("button", { type: "button", text: gettext("Cancel") });
  const status = el("span", { className: "report-status", role: "status" });
  const box = el(
    "form",
    { className: "report-box", "aria-label": gettext("Report this message") },
    reason,
    " ",
    send,
    " ",
    cancel,
    " ",
    status,
  );
  cancel.addEventListener("click", () => box.remove());
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      box.remove();
    }
  });
  box.addEventListener("submit", async (event) => {
    event.preventDefault();
    send.disabled = true;
    try {
      await sendJson("POST", `/api/messages/${id}/report/`, { reason: reason.value.trim() });
      box.replaceChildren(
        el("span", {
          className: "report-status",
          role: "status",
          text: gettext("Reported: the room's moderators will look at it."),
        }),
      );
      setTimeout(() => box.remove(), 5000);
    } catch (failure) {
      send.disabled = false;
      status.textContent = failure.detail || gettext("The server refused it.");
    }
  });
  li.querySelector(".content").append(box);
  reason.focus();
}
