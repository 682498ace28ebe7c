// The browser client of the chat: ES modules, no build step, nothing from the
// internet (docs/architecture-client.md says why).
//
//   lib/util.js        translations, elements, times, HTTP with the CSRF token
//   lib/connection.js  the WebSocket: heartbeats, back-off, states
//   lib/markdown.js    a message body as safe elements (marked + DOMPurify)
//   lib/store.js       my conversations, unread counts, mutes
//   views/*.js         sidebar, messages, conversation, settings, switcher,
//                      attention (title, favicon, notifications), shell,
//                      moderation (members' actions, invites), reports
//
// This module wires them together: one connection per page, whose frames go
// to the store (lists), the open conversation and the notifications.

import { Connection, showState } from "./lib/connection.js";
import { ConversationStore, directKey, roomKey } from "./lib/store.js";
import { localizeTimes } from "./lib/util.js";
import { bindNotifications, bindTitle } from "./views/attention.js";
import { bindPresence } from "./views/presence.js";
import { ConversationView } from "./views/conversation.js";
import { bindReports } from "./views/reports.js";
import { applyRoom, bindRoomSettings } from "./views/settings.js";
import { bindDetails, bindDrawer, bindMute, bindNotices } from "./views/shell.js";
import { bindSidebar } from "./views/sidebar.js";
import { bindSwitcher } from "./views/switcher.js";

// Frames after which the lists' counts may have moved (an edit or a deletion
// may add or take away a mention of me).
const LIST_FRAMES = new Set([
  "message",
  "message.edited",
  "message.deleted",
  "read",
  "room.joined",
  "room.left",
  "room.updated",
]);

function announcer() {
  const node = document.getElementById("announcer");
  return (text) => {
    if (!node) return;
    node.textContent = "";
    // A new text node after a tick, so the same words are announced again.
    setTimeout(() => {
      node.textContent = text;
    }, 50);
  };
}

function start() {
  localizeTimes();
  bindNotices();
  bindDrawer();
  const script = document.getElementById("page-data");
  if (!script) return;
  const data = JSON.parse(script.textContent);
  const store = new ConversationStore(data.me);
  const currentKey = data.room ? roomKey(data.room) : data.to ? directKey(data.to) : null;
  bindSidebar(store, currentKey);
  bindTitle(store);
  bindSwitcher(store);
  const notify = bindNotifications({ me: data.me, store });

  let view = null;
  let presence = null;
  const connection = new Connection({
    onHello: (hello) => {
      presence?.onHello();
      view?.onHello(hello);
      store.refreshSoon();
    },
    onFrame: (frame) => {
      if (frame.type === "room.left") store.forget(roomKey(frame.room));
      if (frame.type === "room.updated" && frame.detail) applyRoom(frame.detail, store);
      presence?.onFrame(frame);
      view?.onFrame(frame);
      if (LIST_FRAMES.has(frame.type)) store.refreshSoon();
      notify(frame);
    },
    onState: (state, sessions) => {
      showState(state, sessions);
      view?.onState(state, sessions);
    },
  });

  presence = bindPresence(data, connection);

  if (data.page === "conversation") {
    view = new ConversationView(data, { connection, store, announce: announcer() });
    window.chatView = view; // for the browser tests and the curious
    bindDetails();
    bindMute(store, view.key);
    if (view.room) bindRoomSettings(view, { store });
    else view.onMembers(() => {});
    view.start();
  }
  if (data.page === "reports") bindReports(data);
  store.refresh();
  connection.connect();
}

start();
