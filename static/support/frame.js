// The visitor's side of the support widget, in a frame of our origin
// (/support/widget/<key>/). It asks for the pre-chat fields the site wants,
// gets a visitor token on the first message (POST /api/support/<key>/visitors/),
// keeps it in this origin's storage (so a reload or a new tab continues), and
// speaks the visitor socket: /ws/visitor/?site=<key>&token=<token>.

import { Connection, showState } from "../chat/lib/connection.js";
import { el, gettext, interpolate, newClientId, timeElement } from "../chat/lib/util.js";

const config = JSON.parse(document.getElementById("widget-data").textContent);
const storageKey = `support.visitor.${config.key}${config.user_id ? `.${config.user_id}` : ""}`;
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;

const $ = (id) => document.getElementById(id);
const list = $("widget-messages");
const form = $("widget-form");
const box = $("widget-body");
const status = $("widget-status");
const typingLine = $("widget-typing");

const state = {
  token: readToken(),
  connection: null,
  lastId: 0,
  seen: new Set(),
  pending: new Map(), // client_id -> {body, node}
  lastTyping: 0,
  typingTimer: null,
  unread: 0,
  closed: false,
  me: null, // the visitor's user id, from hello
  files: [], // chosen, not yet sent: File objects
};

// The token lives in this frame's storage (our origin). A browser that denies
// a frame of another site its storage (third-party storage blocked) gets it
// kept by the loader on the site's page instead, which hands it back in this
// page's fragment (never sent to a server).
function readToken() {
  try {
    const kept = localStorage.getItem(storageKey);
    if (kept) return kept;
  } catch {
    // denied: the fragment, if the loader kept one
  }
  return new URLSearchParams(location.hash.slice(1)).get("token");
}

function keepToken(token) {
  state.token = token;
  try {
    localStorage.setItem(storageKey, token);
    return;
  } catch {
    // denied: ask the loader
  }
  tellHost("support.token", { token });
}

function forgetToken() {
  state.token = null;
  try {
    localStorage.removeItem(storageKey);
  } catch {
    // denied
  }
  tellHost("support.token", { token: null });
}

/** To the loader on the site's page only (its origin, one of the site's). */
function tellHost(type, payload) {
  if (window.parent !== window && config.host) window.parent.postMessage({ type, ...payload }, config.host);
}

class VisitorConnection extends Connection {
  get url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ site: config.key, token: state.token || "" });
    return `${scheme}//${location.host}/ws/visitor/?${query}`;
  }
}

function say(text) {
  status.textContent = text;
  status.hidden = !text;
}


/** The one line about the queue, the agent or the end, above the messages. */
function showQueue(frame) {
  const wait = Math.max(0, Math.round(Number(frame.estimated_wait_seconds) || 0));
  const minutes = Math.max(1, Math.ceil(wait / 60));
  const text = frame.position
    ? interpolate(
        gettext("You are number %(position)s in the queue. Estimated wait: about %(minutes)s min."),
        { position: frame.position, minutes },
      )
    : "";
  const node = $("widget-queue");
  node.textContent = text;
  node.dataset.position = String(frame.position || 0);
  node.hidden = !text;
}

function addNotice(text, className = "notice") {
  list.append(el("li", { className }, text));
  list.scrollTop = list.scrollHeight;
}

function senderName(message) {
  const sender = message.sender || {};
  return sender.display_name || sender.username || gettext("Agent");
}

function isMine(message) {
  // A visitor is a user of its own (that can never log in): hello names it.
  return Boolean(message.sender && state.me !== null && message.sender.id === state.me);
}

function showMessage(message) {
  if (message.id && state.seen.has(message.id)) return;
  if (message.id) {
    state.seen.add(message.id);
    state.lastId = Math.max(state.lastId, message.id);
  }
  const mine = isMine(message);
  const pending = message.client_id && state.pending.get(message.client_id);
  const attachments = (message.attachments || []).map(attachmentLink);
  const node = el(
    "li",
    { className: `message ${mine ? "mine" : "theirs"}`, "data-id": message.id || null },
    mine ? null : el("span", { className: "author" }, senderName(message)),
    el("span", { className: "body" }, message.body || ""),
    ...attachments,
    message.created_at ? timeElement(message.created_at, { timeOnly: true }) : null,
  );
  if (pending) {
    pending.node.replaceWith(node);
    state.pending.delete(message.client_id);
  } else {
    list.append(node);
  }
  list.scrollTop = list.scrollHeight;
  if (!mine) {
    typingLine.hidden = true;
    if (document.hidden) {
      state.unread += 1;
      tellHost("support.unread", { count: state.unread });
    }
  }
}

// --- files: chosen (button, drop, paste), uploaded with the visitor token ---

/** A file of the conversation: fetched with the token (never in the URL). */
function attachmentLink(file) {
  const link = el("a", { href: "#", className: "attachment", "data-upload": file.id }, file.name || gettext("File"));
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    const opened = window.open("", "_blank");
    try {
      const response = await fetch(visitorFileUrl(file.url), {
        credentials: "omit",
        headers: { Authorization: `Bearer ${state.token}` },
      });
      if (!response.ok) throw new Error(String(response.status));
      const url = URL.createObjectURL(await response.blob());
      if (opened) opened.location = url;
      else window.open(url, "_blank");
    } catch {
      opened?.close();
      say(gettext("The file could not be opened."));
    }
  });
  return link;
}

/** /api/uploads/<id>/<key>/ as the visitor reaches it: under their site. */
function visitorFileUrl(url) {
  return config.uploads_url + String(url).replace(/^\/api\/uploads\//, "");
}

function chooseFiles(files) {
  for (const file of files) state.files.push(file);
  showChosen();
}

function showChosen() {
  const node = $("widget-files");
  node.replaceChildren(
    ...state.files.map((file, index) => {
      const remove = el("button", { type: "button", className: "link-button", "aria-label": gettext("Remove") }, "×");
      remove.addEventListener("click", () => {
        state.files.splice(index, 1);
        showChosen();
      });
      return el("li", { className: "chosen-file" }, file.name || gettext("File"), remove);
    }),
  );
  node.hidden = !state.files.length;
}

async function uploadOne(file) {
  const body = new FormData();
  body.append("file", file, file.name || "file");
  const response = await fetch(config.uploads_url, {
    method: "POST",
    credentials: "omit",
    headers: { Accept: "application/json", Authorization: `Bearer ${state.token}` },
    body,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(data.detail || "refused"), {
      detail: data.detail || gettext("The file could not be uploaded."),
    });
  }
  return data;
}

function bindFiles() {
  const input = $("widget-file");
  $("widget-attach").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    chooseFiles(input.files);
    input.value = "";
  });
  const chat = $("widget-chat");
  chat.addEventListener("dragover", (event) => {
    if (event.dataTransfer?.types?.includes("Files")) event.preventDefault();
  });
  chat.addEventListener("drop", (event) => {
    if (!event.dataTransfer?.files?.length) return;
    event.preventDefault();
    chooseFiles(event.dataTransfer.files);
  });
  box.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length) return;
    event.preventDefault();
    chooseFiles(files);
  });
}

const HANDLERS = {
  message: showMessage,
  ack(frame) {
    const pending = state.pending.get(frame.client_id);
    if (pending) pending.node.dataset.id = String(frame.id);
  },
  queue: showQueue,
  "agent.joined"(frame) {
    showQueue({ position: 0 });
    // A left message that an agent reopened: the chat comes back.
    $("widget-offline").hidden = true;
    $("widget-chat").hidden = false;
    $("widget-prechat").hidden = true;
    $("widget-rating").hidden = true;
    state.closed = false;
    const name = frame.agent?.display_name || gettext("An agent");
    addNotice(interpolate(gettext("%(name)s joined the conversation."), { name }), "notice agent-joined");
  },
  typing(frame) {
    const name = frame.user?.display_name || frame.user?.username || gettext("The agent");
    typingLine.textContent = interpolate(gettext("%(name)s is typing…"), { name });
    typingLine.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => (typingLine.hidden = true), TYPING_SHOWN_MS);
  },
  "conversation.closed"() {
    state.closed = true;
    showQueue({ position: 0 });
    addNotice(gettext("The conversation was closed."), "notice closed");
    $("widget-rating").hidden = false;
    $("widget-transcript").hidden = false;
  },
  "conversation.reopened"() {
    state.closed = false;
    $("widget-rating").hidden = true;
  },
  error(frame) {
    if (frame.code === "offline") {
      // No agent online (or the hours ended): leave a message instead.
      for (const [clientId, pending] of state.pending) {
        pending.node.remove();
        state.pending.delete(clientId);
        $("leave-body").value = pending.body;
      }
      goOffline();
      return;
    }
    say(frame.detail || gettext("The server refused it."));
  },
};

function connect() {
  if (state.connection) return;
  state.connection = new VisitorConnection({
    onHello: (frame) => {
      say("");
      state.me = frame.user?.id ?? null;
      state.connection.send({ type: "sync", after: state.lastId, limit: 100 });
      for (const [clientId, pending] of state.pending) {
        state.connection.send({
          type: "message.send",
          body: pending.body,
          client_id: clientId,
          attachments: pending.attachments,
        });
      }
      if (frame.queue) showQueue(frame.queue);
    },
    onFrame: (frame) => HANDLERS[frame.type]?.(frame),
    onState: (connectionState, sessions) => {
      showState(connectionState, sessions);
      if (connectionState === "closed") {
        // The token is no longer good (expired, revoked): start afresh.
        forgetToken();
        state.connection = null;
      }
    },
  });
  state.connection.connect();
}

/** The pre-chat fields the site asks for, checked by the browser first. */
function prechatFields() {
  const fields = {};
  for (const name of ["name", "email"]) {
    const input = $(`prechat-${name}`);
    if (input && input.value.trim()) fields[name] = input.value.trim();
  }
  return fields;
}

async function startVisitor() {
  const body = {
    ...prechatFields(),
    page_url: config.page || "",
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "",
    user_agent: navigator.userAgent,
  };
  if (config.user_id) {
    body.user_id = config.user_id;
    body.user_hash = config.user_hash || "";
  }
  const response = await fetch(config.visitors_url, {
    method: "POST",
    credentials: "omit",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || `HTTP ${response.status}`);
    error.detail = data.detail || gettext("The server refused it.");
    throw error;
  }
  keepToken(data.token);
  $("widget-prechat").hidden = true;
}

async function send(event) {
  event.preventDefault();
  const text = box.value.trim();
  if (!text && !state.files.length) return;
  const prechat = $("widget-prechat");
  if (!prechat.hidden && !prechat.checkValidity()) {
    prechat.reportValidity();
    return;
  }
  if (!state.token) {
    try {
      await startVisitor();
    } catch (error) {
      say(error.detail);
      return;
    }
  }
  const files = state.files.splice(0);
  showChosen();
  box.value = "";
  const clientId = newClientId();
  const node = el("li", { className: "message mine pending" }, el("span", { className: "body" }, text));
  list.append(node);
  list.scrollTop = list.scrollHeight;
  let attachments;
  try {
    attachments = (await Promise.all(files.map(uploadOne))).map((upload) => upload.id);
  } catch (error) {
    node.remove();
    box.value = text;
    chooseFiles(files);
    say(error.detail);
    return;
  }
  state.pending.set(clientId, { body: text, node, attachments });
  connect();
  state.connection.send({ type: "message.send", body: text, client_id: clientId, attachments });
}

function typed() {
  if (!state.connection || Date.now() - state.lastTyping < TYPING_EVERY_MS) return;
  state.lastTyping = Date.now();
  state.connection.send({ type: "typing" });
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "omit",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
    },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(data.detail || "refused"), { detail: data.detail });
  return data;
}

function formFields(formNode) {
  return Object.fromEntries(
    [...new FormData(formNode).entries()].map(([name, value]) => [name, String(value).trim()]),
  );
}

function wire(formId, url, done, then = () => {}) {
  const node = $(formId);
  if (!node) return;
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = formFields(node);
    if (fields.rating) fields.rating = Number(fields.rating);
    try {
      const answer = await postJson(url, { ...fields, token: state.token || undefined });
      node.replaceChildren(el("p", { className: "done", role: "status" }, done));
      then(answer);
    } catch (error) {
      say(error.detail || gettext("The server refused it."));
    }
  });
}

function goOffline() {
  $("widget-chat").hidden = true;
  $("widget-offline").hidden = false;
  const email = $("prechat-email")?.value;
  if (email && !$("leave-email").value) $("leave-email").value = email;
  const name = $("prechat-name")?.value;
  if (name && !$("leave-name").value) $("leave-name").value = name;
}

/** After a reload: a closed conversation offers the rating again. */
async function restore() {
  try {
    const query = new URLSearchParams({ token: state.token });
    const response = await fetch(`${config.conversation_url}?${query}`, { credentials: "omit" });
    if (!response.ok) return;
    const { conversation } = await response.json();
    if (conversation?.status === "closed" && !conversation.rating) {
      state.closed = true;
      $("widget-rating").hidden = false;
      $("widget-transcript").hidden = false;
    }
  } catch {
    // the socket says the rest
  }
}

function start() {
  $("widget-close").addEventListener("click", () => tellHost("support.close", {}));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) state.unread = 0;
  });
  wire("widget-leave", config.leave_url, gettext("Thank you: we will answer by email."), (answer) => {
    if (answer.token && !state.token) keepToken(answer.token);
    // An agent may reopen it while the visitor is still here.
    if (state.token) connect();
  });
  if (!config.online) {
    // Outside business hours: leave a message instead.
    goOffline();
    return;
  }
  form.addEventListener("submit", send);
  bindFiles();
  box.addEventListener("input", typed);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  // Typed into before this script ran, a message would go nowhere: the page
  // serves the box disabled, and it opens once it sends.
  box.disabled = false;
  form.querySelector("button[type=submit]").disabled = false;
  wire("widget-rating", config.rating_url, gettext("Thank you for your rating."));
  wire("widget-transcript", config.transcript_url, gettext("The transcript is on its way."));
  if (state.token) {
    // A conversation is going on (a reload or a new tab): continue it.
    $("widget-prechat").hidden = true;
    connect();
    restore();
  } else {
    showState("connecting", 0);
    $("connection-state").textContent = "";
  }
}

start();
