// The agents' page, /support/: the queue, my conversations, the team's open
// ones, and one conversation with the visitor's details. Live on the agents'
// usual socket (/ws/chat/), where support conversations are conversations of
// kind `support`. Actions go through the HTTP API (docs/protocol.md, "Support").

import { Connection, showState } from "../chat/lib/connection.js";
import {
  el,
  getJson,
  gettext,
  interpolate,
  localizeTimes,
  newClientId,
  sendJson,
  timeElement,
} from "../chat/lib/util.js";
import { api } from "./agent-api.js";
import { bindCanned } from "./canned.js";
import { alertNew, bindAlerts } from "./alerts.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const me = data.me;
const $ = (id) => document.getElementById(id);

const state = {
  conversations: new Map(), // id -> conversation
  open: null, // the id shown
  messages: new Map(), // id -> [message]
  typingTimer: null,
  lastTyping: 0,
  connection: null,
  acted: new Set(), // conversations I just took or reopened: no alert for those
};

function waiting(conversation) {
  return conversation.status === "queued" || conversation.status === "offered";
}

function listOf(conversation) {
  if (waiting(conversation)) return "queue";
  if (conversation.status === "closed") return null;
  if (conversation.agent && conversation.agent.id === me.id) return "mine";
  return "team";
}

function visitorName(conversation) {
  const visitor = conversation.visitor || {};
  return visitor.display_name || visitor.name || visitor.email || gettext("Visitor");
}

function since(conversation) {
  return conversation.queued_at || conversation.opened_at;
}

function waitedText(since) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 1000));
  if (seconds < 60) return interpolate(gettext("waiting %(n)s s"), { n: seconds });
  return interpolate(gettext("waiting %(n)s min"), { n: Math.floor(seconds / 60) });
}

function renderLists() {
  const lists = { queue: [], mine: [], team: [] };
  const sorted = [...state.conversations.values()].sort((a, b) =>
    String(since(a)).localeCompare(String(since(b))),
  );
  for (const conversation of sorted) {
    const name = listOf(conversation);
    if (name) lists[name].push(conversation);
  }
  for (const [name, items] of Object.entries(lists)) {
    const node = $(`list-${name}`);
    node.replaceChildren(
      ...items.map((conversation) =>
        el(
          "li",
          {
            "data-id": conversation.id,
            "data-status": conversation.status,
            className: conversation.id === state.open ? "current" : "",
          },
          el(
            "button",
            { type: "button", className: "link-button open-conversation" },
            visitorName(conversation),
          ),
          el("span", { className: "site" }, conversation.site?.name || ""),
          name === "queue" && since(conversation)
            ? el("span", { className: "waited", "data-since": since(conversation) }, waitedText(since(conversation)))
            : null,
          conversation.offered_to?.id === me.id
            ? el("span", { className: "offered" }, gettext("offered to you"))
            : null,
        ),
      ),
    );
    if (!items.length) node.append(el("li", { className: "empty" }, node.dataset.empty));
  }
  $("queue-count").textContent = String(lists.queue.length);
}

function upsert(conversation, { announce = true } = {}) {
  const before = state.conversations.get(conversation.id);
  const merged = { ...(before || {}), ...conversation };
  state.conversations.set(conversation.id, merged);
  const arrived = listOf(merged);
  const offeredNow = merged.offered_to?.id === me.id && before?.offered_to?.id !== me.id;
  // Handed to me by someone else (a transfer), not what I just did myself.
  const givenNow = arrived === "mine" && before && listOf(before) !== "mine" && !state.acted.has(merged.id);
  const queuedNow = arrived === "queue" && (!before || listOf(before) !== arrived);
  if (announce && (queuedNow || offeredNow || givenNow)) {
    alertNew(merged, visitorName(merged));
  }
  renderLists();
  if (merged.id === state.open) renderHead(merged);
}

function renderHead(conversation) {
  $("conversation-title").textContent = visitorName(conversation);
  $("conversation-status").textContent = statusText(conversation);
  $("action-take").hidden = !(waiting(conversation) ||
    (conversation.agent && conversation.agent.id !== me.id && conversation.status !== "closed"));
  $("action-close").hidden = conversation.status === "closed";
  $("action-reopen").hidden = conversation.status !== "closed";
  const details = conversation.visitor || {};
  for (const node of $("visitor-details").querySelectorAll("dd[data-field]")) {
    const field = node.dataset.field;
    if (field === "local_time") node.textContent = localTime(details.time_zone);
    else if (field === "site") node.textContent = conversation.site?.name || "";
    else if (field === "page") node.textContent = details.page_url || "—";
    else if (field === "browser") node.textContent = details.user_agent || "—";
    else node.textContent = details[field] || "—";
  }
}

function statusText(conversation) {
  if (conversation.status === "closed") return gettext("Closed");
  if (waiting(conversation) && conversation.team) {
    return interpolate(gettext("Waiting for team %(name)s"), { name: conversation.team.name });
  }
  if (waiting(conversation)) return gettext("Waiting in the queue");
  if (conversation.agent) return interpolate(gettext("With %(name)s"), { name: conversation.agent.display_name || conversation.agent.username });
  return "";
}

function localTime(zone) {
  if (!zone) return "—";
  try {
    return `${new Intl.DateTimeFormat(document.documentElement.lang || "en", { timeStyle: "short", timeZone: zone }).format(new Date())} (${zone})`;
  } catch {
    return zone;
  }
}

function fromVisitor(message, conversation) {
  return Boolean(message.sender && conversation?.visitor && message.sender.id === conversation.visitor.user_id);
}

/** A message, or an internal note (`note: true`: the team's only). */
function messageNode(message) {
  const note = Boolean(message.note);
  const conversation = state.conversations.get(conversationIdOf(message) ?? state.open);
  const visitorSent = !note && fromVisitor(message, conversation);
  const who = note ? message.author : message.sender;
  const author = visitorSent ? visitorName(conversation || {}) : who?.display_name || who?.username || "";
  return el(
    "li",
    {
      className: `message${note ? " note" : ""}${visitorSent ? " from-visitor" : ""}`,
      "data-id": note ? null : message.id || null,
      "data-note-id": note ? message.id : null,
    },
    el("span", { className: "author" }, author),
    note
      ? el(
          "span",
          { className: "note-label" },
          message.transfer_to
            ? interpolate(gettext("Transfer note for %(name)s"), {
                name: message.transfer_to.display_name || message.transfer_to.username,
              })
            : message.transfer_team
              ? interpolate(gettext("Transfer note for team %(name)s"), { name: message.transfer_team.name })
              : gettext("Internal note"),
        )
      : null,
    el("span", { className: "body" }, message.body || ""),
    ...(message.attachments || []).map((file) =>
      el("a", { href: file.url, target: "_blank", rel: "noopener" }, file.name || gettext("File")),
    ),
    message.created_at ? timeElement(message.created_at, { timeOnly: true }) : null,
  );
}

function conversationIdOf(frame) {
  const value = frame.conversation;
  if (value && typeof value === "object") return value.id;
  return value ?? null;
}

function addMessage(message) {
  const id = conversationIdOf(message);
  if (id === null) return;
  const known = state.messages.get(id);
  if (known) {
    const same = (item) => item.id === message.id && Boolean(item.note) === Boolean(message.note);
    if (message.id && known.some(same)) return;
    known.push(message);
    if (id === state.open) showHandover(known);
  }
  if (id === state.open) {
    const list = $("support-messages");
    const pending = message.client_id && list.querySelector(`li[data-client-id="${CSS.escape(message.client_id)}"]`);
    if (pending) pending.replaceWith(messageNode(message));
    else list.append(messageNode(message));
    list.scrollTop = list.scrollHeight;
    if (fromVisitor(message, state.conversations.get(id))) $("support-typing").hidden = true;
  }
}

async function openConversation(id) {
  state.open = id;
  const conversation = state.conversations.get(id);
  $("support-empty").hidden = true;
  $("support-conversation").hidden = false;
  if (conversation) renderHead(conversation);
  renderLists();
  const answer = await getJson(api.conversation(id));
  if (state.open !== id) return;
  // Known before its messages are drawn: they are told apart by its visitor
  // (a closed one is in no list the page had).
  if (answer.conversation) upsert(answer.conversation, { announce: false });
  const thread = [
    ...answer.messages.map((message) => ({ ...message, conversation: id })),
    ...(answer.notes || []).map((note) => ({ ...note, note: true, conversation: id })),
  ].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  state.messages.set(id, thread);
  $("support-messages").replaceChildren(...thread.map(messageNode));
  showHandover(thread);
  $("support-messages").scrollTop = $("support-messages").scrollHeight;
  localizeTimes($("support-messages"));
  history.replaceState(null, "", `#conversation-${id}`);
}

async function act(request) {
  const id = state.open;
  state.acted.add(id);
  setTimeout(() => state.acted.delete(id), 5000);
  try {
    const answer = await request();
    if (answer?.conversation) upsert(answer.conversation, { announce: false });
    else if (answer?.id && answer?.status) upsert(answer, { announce: false });
  } catch (error) {
    $("announcer").textContent = error.detail || gettext("The server refused it.");
    window.alert(error.detail || gettext("The server refused it."));
  }
}

async function send(event) {
  event.preventDefault();
  const box = $("support-body");
  const body = box.value.trim();
  if (!body || state.open === null) return;
  const note = $("support-note").checked;
  const clientId = newClientId();
  box.value = "";
  const pending = el("li", { className: `message pending${note ? " note" : ""}`, "data-client-id": clientId },
    el("span", { className: "body" }, body));
  $("support-messages").append(pending);
  const id = state.open;
  try {
    const message = await sendJson("POST", note ? api.notes(id) : api.messages(id), { body, client_id: clientId });
    if (message?.type === "message") addMessage({ ...message, conversation: id });
    else if (note && message?.id) {
      pending.remove();
      addMessage({ ...(message.note || message), note: true, conversation: id });
    }
  } catch (error) {
    pending.remove();
    box.value = body;
    window.alert(error.detail);
  }
}

function typed() {
  if (state.open === null || $("support-note").checked || Date.now() - state.lastTyping < 3000) return;
  state.lastTyping = Date.now();
  state.connection?.send({ type: "support.typing", conversation: state.open });
}

const HANDLERS = {
  message(frame) {
    if (frame.conversation === undefined) return;
    const id = conversationIdOf(frame);
    if (typeof frame.conversation === "object" && frame.conversation.status) upsert(frame.conversation);
    addMessage({ ...frame, conversation: id });
  },
  typing(frame) {
    if (conversationIdOf(frame) !== state.open) return;
    const line = $("support-typing");
    line.textContent = interpolate(gettext("%(name)s is typing…"), {
      name: frame.user?.display_name || frame.user?.username || gettext("The visitor"),
    });
    line.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => (line.hidden = true), 5000);
  },
  queue(frame) {
    for (const conversation of frame.conversations || []) upsert(conversation);
    if (frame.conversation && typeof frame.conversation === "object") upsert(frame.conversation);
  },
  "support.note"(frame) {
    addMessage({ ...frame.note, note: true, conversation: frame.note.conversation });
  },
  "support.conversation"(frame) {
    upsert(frame.conversation || frame);
  },
  "conversation.closed"(frame) {
    const id = conversationIdOf(frame);
    if (id !== null) upsert({ id, status: "closed" }, { announce: false });
  },
};

/** The transfer dialog: the agents, then the teams (`agent:li`, `team:Billing`). */
function fillTransferChoices() {
  const select = $("transfer-to");
  const agents = el("optgroup", { label: gettext("Agents") });
  for (const agent of data.agents || []) {
    if (agent.id === me.id) continue;
    agents.append(el("option", { value: `agent:${agent.username}` }, agent.display_name || agent.username));
  }
  const teams = el("optgroup", { label: gettext("Teams") });
  for (const name of data.teams || []) {
    teams.append(el("option", { value: `team:${name}` }, interpolate(gettext("Team %(name)s"), { name })));
  }
  for (const group of [agents, teams]) if (group.children.length) select.append(group);
}

function splitChoice(value) {
  const at = value.indexOf(":");
  return [value.slice(0, at), value.slice(at + 1)];
}

/** The last transfer note, above the thread: the receiver reads it first. */
function showHandover(thread) {
  const node = $("support-handover");
  const last = thread.filter((item) => item.note && (item.transfer_to || item.transfer_team)).at(-1);
  node.hidden = !last;
  if (!last) return;
  const author = last.author?.display_name || last.author?.username || "";
  node.textContent = interpolate(gettext("Transferred by %(name)s: %(note)s"), { name: author, note: last.body });
}

function start() {
  for (const conversation of data.conversations || []) upsert(conversation, { announce: false });
  fillTransferChoices();
  for (const name of ["queue", "mine", "team"]) {
    $(`list-${name}`).addEventListener("click", (event) => {
      const item = event.target.closest("li[data-id]");
      if (item) openConversation(Number(item.dataset.id));
    });
  }
  $("action-take").addEventListener("click", () => act(() => sendJson("POST", api.take(state.open))));
  $("action-close").addEventListener("click", () => act(() => sendJson("POST", api.close(state.open))));
  $("action-reopen").addEventListener("click", () => act(() => sendJson("POST", api.reopen(state.open))));
  $("transfer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const [kind, name] = splitChoice($("transfer-to").value);
    const body = { [kind === "team" ? "team" : "to"]: name, note: $("transfer-note").value.trim() };
    act(() => sendJson("POST", api.transfer(state.open), body)).then(() => {
      $("transfer-note").value = "";
      event.target.closest("details").open = false;
    });
  });
  $("support-compose").addEventListener("submit", send);
  const box = $("support-body");
  // First: its Enter picks a reply, and the sending Enter below then stands back.
  bindCanned(box, $("canned-menu"), data.canned || [], () => state.conversations.get(state.open));
  box.addEventListener("input", typed);
  box.addEventListener("keydown", (event) => {
    if (event.defaultPrevented) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("support-compose").requestSubmit();
    }
  });
  bindAlerts($("enable-alerts"));
  setInterval(() => {
    for (const node of document.querySelectorAll(".waited[data-since]")) node.textContent = waitedText(node.dataset.since);
  }, 15000);
  state.connection = new Connection({
    onHello: () => refresh(),
    onFrame: (frame) => HANDLERS[frame.type]?.(frame),
    onState: showState,
  });
  state.connection.connect();
  const wanted = /^#conversation-(\d+)$/.exec(location.hash);
  if (wanted) openConversation(Number(wanted[1]));
}

/** After every (re)connect: the lists as the server has them now. */
async function refresh() {
  try {
    const answer = await getJson(api.conversations());
    for (const conversation of answer.conversations || []) upsert(conversation, { announce: true });
    if (state.open !== null && state.messages.has(state.open)) openConversation(state.open);
  } catch {
    // the lists stay as they were; the next hello tries again
  }
}

start();
