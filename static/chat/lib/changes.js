// Messages that change (docs/protocol.md, "Messages that change"): the newest
// change_id this page has seen, and a change frame applied to a message.
//
// The cursor starts at the change id the page was made at (page data), so
// nothing falls between the history the page loaded and the socket; it moves
// with every change frame and `sync.done`. After each `hello` the view asks
// `sync` for the changes after it (`changes_after`).

export const CHANGE_FRAMES = new Set(["message.edited", "message.deleted", "message.reactions"]);

export class ChangeCursor {
  constructor(start = null) {
    this.last = typeof start === "number" ? start : null;
  }

  /** A change id seen (a frame's change_id, sync.done's last_change_id). */
  note(id) {
    if (typeof id !== "number") return;
    if (this.last === null || id > this.last) this.last = id;
  }

  /** A hello's last_change_id counts only when the page knew none. */
  noteHello(hello) {
    if (this.last === null) this.note(hello.last_change_id);
  }

  /** The `sync` fields that ask for the changes after the cursor. */
  syncFields() {
    return this.last === null ? {} : { changes_after: this.last };
  }
}

/** A message payload with the whole state every message frame carries. */
export function withState(message) {
  return {
    edited_at: null,
    deleted: false,
    reactions: [],
    reply_to: null,
    mentions: [],
    ...message,
  };
}

/**
 * The message after a change frame, or null when the frame is older than what
 * the message shows already (a change id at or below the last one applied).
 */
export function applyChange(message, frame) {
  if (typeof message.changeId === "number" && frame.change_id <= message.changeId) return null;
  const next = { ...message, changeId: frame.change_id };
  switch (frame.type) {
    case "message.edited":
      next.body = frame.body;
      next.edited_at = frame.edited_at;
      break;
    case "message.deleted":
      next.deleted = true;
      next.body = "";
      next.reactions = [];
      break;
    case "message.reactions":
      next.reactions = frame.reactions || [];
      break;
    default:
      return null;
  }
  return next;
}

/** The first line of a body, shortened, for quotes of a reply's parent. */
export function firstLine(body, limit = 120) {
  const line = String(body || "").split("\n").find((part) => part.trim()) || "";
  const chars = Array.from(line.trim());
  return chars.length > limit ? `${chars.slice(0, limit - 1).join("")}…` : chars.join("");
}
