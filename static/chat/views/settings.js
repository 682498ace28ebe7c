// The details pane of a room: its members with their roles and, for an
// owner, the room's settings (rename, public/private, add members, delete the
// room); the members' actions by role are views/moderation.js'; everyone can
// leave. Each action calls the JSON API with the session cookie and the CSRF
// token; an error answer's `detail` is shown in the panel.

import { avatar, el, sendJson } from "../lib/util.js";
import { RoomModeration } from "./moderation.js";

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

  const moderation = new RoomModeration(view, { base, act, staff: view.data.staff });
  let latest = [];

  const drawMembers = (members) => {
    latest = members;
    amOwner = members.some((m) => m.user.id === view.me.id && m.role === "owner");
    ownerPanel.hidden = !(amOwner || view.data.staff);
    const owners = members.filter((m) => m.role === "owner").length;
    list.replaceChildren(
      ...members.map((member) => {
        const name = member.user.username;
        const li = el(
          "li",
          { "data-username": name, "data-role": member.role },
          avatar(member.user, "small"),
          el("span", { className: "name", text: name }),
        );
        moderation.decorate(li, member, { owners });
        return li;
      }),
    );
  };
  // The mutes in force come after the list: draw again if they changed.
  const onMembers = async (members) => {
    moderation.noteRole(members);
    drawMembers(members);
    if ((await moderation.refresh()) && latest === members) drawMembers(members);
  };
  view.onMembers(onMembers);

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
