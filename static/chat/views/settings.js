// The details pane of a room: its members with their roles and, for an
// owner, the room's settings (rename, public/private, add and remove members,
// name another owner, delete the room); everyone can leave. Each action calls
// the JSON API with the session cookie and the CSRF token; an error answer's
// `detail` is shown in the panel.

import { avatar, el, gettext, interpolate, sendJson } from "../lib/util.js";

export function bindRoomSettings(view, { store }) {
  const room = view.room;
  const base = `/api/rooms/${encodeURIComponent(room)}`;
  const error = document.getElementById("settings-error");
  const ownerPanel = document.getElementById("owner-settings");
  const list = document.getElementById("members");
  let amOwner = false;

  const say = (text) => {
    error.textContent = text || "";
  };

  const act = async (method, url, body, after) => {
    say("");
    try {
      const answer = await sendJson(method, url, body);
      await after?.(answer);
    } catch (failure) {
      say(failure.detail || failure.message);
    }
  };

  const drawMembers = (members) => {
    amOwner = members.some((m) => m.user.id === view.me.id && m.role === "owner");
    ownerPanel.hidden = !amOwner;
    const owners = members.filter((m) => m.role === "owner").length;
    list.replaceChildren(
      ...members.map((member) => {
        const name = member.user.username;
        const li = el(
          "li",
          { "data-username": name },
          avatar(member.user, "small"),
          el("span", { className: "name", text: name }),
        );
        if (member.role === "owner") li.append(" ", el("span", { className: "tag", text: gettext("owner") }));
        if (amOwner && member.user.id !== view.me.id) {
          const actions = el("span", { className: "member-actions" });
          if (member.role !== "owner") {
            const promote = el("button", {
              type: "button",
              className: "link-button make-owner",
              text: gettext("Make owner"),
              "aria-label": interpolate(gettext("Make %(name)s an owner"), { name }),
            });
            promote.addEventListener("click", () =>
              act("POST", `${base}/members/${encodeURIComponent(name)}/role/`, { role: "owner" }, () =>
                view.loadMembers(),
              ),
            );
            actions.append(promote);
          } else if (owners > 1) {
            const demote = el("button", {
              type: "button",
              className: "link-button make-member",
              text: gettext("Make member"),
              "aria-label": interpolate(gettext("Make %(name)s a member"), { name }),
            });
            demote.addEventListener("click", () =>
              act("POST", `${base}/members/${encodeURIComponent(name)}/role/`, { role: "member" }, () =>
                view.loadMembers(),
              ),
            );
            actions.append(demote);
          }
          const remove = el("button", {
            type: "button",
            className: "link-button remove-member",
            text: gettext("Remove"),
            "aria-label": interpolate(gettext("Remove %(name)s"), { name }),
          });
          remove.addEventListener("click", () =>
            act("DELETE", `${base}/members/${encodeURIComponent(name)}/`, undefined, () =>
              view.loadMembers(),
            ),
          );
          actions.append(remove);
          li.append(" ", actions);
        }
        return li;
      }),
    );
  };
  view.onMembers(drawMembers);

  document.getElementById("rename-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const title = document.getElementById("room-title").value.trim();
    const isPrivate = document.getElementById("room-private").checked;
    act("PATCH", `${base}/`, { title, private: isPrivate }, (answer) => {
      if (answer) applyRoom(answer, store);
      say("");
    });
  });

  document.getElementById("add-member-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("add-member");
    const username = input.value.trim();
    if (!username) return;
    act("POST", `${base}/members/`, { username }, () => {
      input.value = "";
      view.loadMembers();
    });
  });

  const confirm = document.getElementById("delete-confirm");
  document.getElementById("delete-room").addEventListener("click", () => {
    confirm.hidden = false;
    document.getElementById("delete-room-confirm").focus();
  });
  document.getElementById("delete-room-cancel").addEventListener("click", () => {
    confirm.hidden = true;
  });
  document.getElementById("delete-room-confirm").addEventListener("click", () =>
    act("DELETE", `${base}/`, undefined, () => {
      store.forget(view.key);
      location.assign("/");
    }),
  );
  document.getElementById("leave-room").addEventListener("click", () =>
    act("POST", `${base}/leave/`, {}, () => {
      store.forget(view.key);
      location.assign("/");
    }),
  );
}

/** A room's title and privacy changed (our PATCH or a room.updated frame). */
export function applyRoom(room, store) {
  store.updateRoom(room);
  const page = JSON.parse(document.getElementById("page-data")?.textContent || "{}");
  if (page.room !== room.slug) return;
  const name = room.title || room.slug;
  const title = document.querySelector("#conversation-title .title-text");
  if (title) title.textContent = name;
  const tag = document.getElementById("private-tag");
  if (tag && room.private !== undefined) tag.hidden = !room.private;
  const box = document.getElementById("room-title");
  if (box && document.activeElement !== box) box.value = room.title || "";
  const check = document.getElementById("room-private");
  if (check && room.private !== undefined) check.checked = room.private;
  document.dispatchEvent(new CustomEvent("chat:title", { detail: name }));
}
