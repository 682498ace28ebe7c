// Moderation in a room's details pane, by role: an owner (or staff) sets
// roles and acts on anyone, a moderator on plain members only (the server
// decides again). Kick, mute and ban (the last two through the duration
// dialog), the mutes and bans in force with a button to lift each, and invite
// links with a copy button. Every action is a call to the JSON API.

import { el, gettext, getJson, interpolate, timeElement } from "../lib/util.js";
import { askRestriction } from "./restrict-dialog.js";

const ROLE_LABELS = {
  owner: () => gettext("owner"),
  moderator: () => gettext("moderator"),
};

function linkButton(className, text, label, onClick) {
  const button = el("button", { type: "button", className: `link-button ${className}`, text, "aria-label": label });
  button.addEventListener("click", onClick);
  return button;
}

function untilText(expiresAt) {
  if (!expiresAt) return gettext("until lifted");
  const when = new Date(expiresAt).toLocaleString(document.documentElement.lang || undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
  return interpolate(gettext("until %(time)s"), { time: when });
}

export class RoomModeration {
  constructor(view, { base, act, staff }) {
    this.view = view;
    this.base = base;
    this.act = act;
    this.staff = Boolean(staff);
    this.role = null;
    this.mutes = new Map(); // username -> the mute in force
    this.tools = document.getElementById("moderation-tools");
    this.bindInvites();
  }

  get canModerate() {
    return this.staff || this.role === "owner" || this.role === "moderator";
  }

  get setsRoles() {
    return this.staff || this.role === "owner";
  }

  /** Whether I may kick, mute or ban this member (as the server rules). */
  mayActOn(member) {
    if (member.user.id === this.view.me.id) return false;
    if (this.staff || this.role === "owner") return true;
    return this.role === "moderator" && member.role === "member";
  }

  /** My role, from the member list (read again after every change). */
  noteRole(members) {
    const mine = members.find((m) => m.user.id === this.view.me.id);
    this.role = mine ? mine.role : null;
    this.tools.hidden = !this.canModerate;
    if (!this.canModerate) this.mutes.clear();
  }

  /** Read the mutes, bans and invites in force: whether the mutes changed. */
  async refresh() {
    if (!this.canModerate) return false;
    const [mutes] = await Promise.all([this.loadMutes(), this.loadBans(), this.loadInvites()]);
    return mutes;
  }

  async loadMutes() {
    try {
      const mutes = await getJson(`${this.base}/mutes/`);
      const before = JSON.stringify([...this.mutes.keys()].sort());
      this.mutes = new Map(mutes.map((m) => [m.user.username, m]));
      return before !== JSON.stringify([...this.mutes.keys()].sort());
    } catch {
      return false;
    }
  }

  reload() {
    this.view.loadMembers();
  }

  /** The tags and the action buttons of one member's line. */
  decorate(li, member, { owners }) {
    const name = member.user.username;
    const label = ROLE_LABELS[member.role];
    if (label) li.append(" ", el("span", { className: `tag role-${member.role}`, text: label() }));
    const mute = this.mutes.get(name);
    if (mute) {
      li.append(
        " ",
        el("span", {
          className: "tag muted-tag",
          text: gettext("muted here"),
          title: untilText(mute.expires_at),
        }),
      );
    }
    const actions = el("span", { className: "member-actions" });
    if (this.setsRoles && member.user.id !== this.view.me.id) {
      const setRole = (role) => () =>
        this.act("POST", `${this.base}/members/${encodeURIComponent(name)}/role/`, { role }, () => this.reload());
      if (member.role !== "owner") {
        actions.append(
          linkButton("make-owner", gettext("Make owner"), interpolate(gettext("Make %(name)s an owner"), { name }), setRole("owner")),
        );
      }
      if (member.role !== "moderator" && (member.role !== "owner" || owners > 1)) {
        actions.append(
          linkButton(
            "make-moderator",
            gettext("Make moderator"),
            interpolate(gettext("Make %(name)s a moderator"), { name }),
            setRole("moderator"),
          ),
        );
      }
      if (member.role !== "member" && (member.role !== "owner" || owners > 1)) {
        actions.append(
          linkButton("make-member", gettext("Make member"), interpolate(gettext("Make %(name)s a member"), { name }), setRole("member")),
        );
      }
    }
    if (this.mayActOn(member)) {
      actions.append(
        linkButton("remove-member", gettext("Remove"), interpolate(gettext("Remove %(name)s"), { name }), () =>
          this.act("DELETE", `${this.base}/members/${encodeURIComponent(name)}/`, undefined, () => this.reload()),
        ),
      );
      if (mute) {
        actions.append(
          linkButton("unmute-member", gettext("Lift the mute"), interpolate(gettext("Lift the mute of %(name)s"), { name }), () =>
            this.act("DELETE", `${this.base}/mutes/${encodeURIComponent(name)}/`, undefined, () => this.reload()),
          ),
        );
      } else {
        actions.append(
          linkButton("mute-member", gettext("Mute…"), interpolate(gettext("Mute %(name)s"), { name }), () =>
            this.restrict("mute", name),
          ),
        );
      }
      actions.append(
        linkButton("ban-member", gettext("Ban…"), interpolate(gettext("Ban %(name)s"), { name }), () =>
          this.restrict("ban", name),
        ),
      );
    }
    if (actions.childElementCount) li.append(" ", actions);
  }

  async restrict(kind, username) {
    const answer = await askRestriction(kind, username);
    if (!answer) return;
    const url = `${this.base}/${kind === "ban" ? "bans" : "mutes"}/`;
    await this.act("POST", url, { username, ...answer }, () => this.reload());
  }

  // --- bans in force

  async loadBans() {
    const list = document.getElementById("ban-list");
    let bans = [];
    try {
      bans = await getJson(`${this.base}/bans/`);
    } catch {
      return;
    }
    list.replaceChildren(
      ...bans.map((ban) => {
        const name = ban.user.username;
        return el(
          "li",
          { "data-username": name },
          el("span", { className: "name", text: name }),
          " ",
          el("span", { className: "until", text: untilText(ban.expires_at) }),
          ban.reason ? el("q", { className: "reason", text: ban.reason }) : "",
          " ",
          linkButton("lift-ban", gettext("Lift the ban"), interpolate(gettext("Lift the ban of %(name)s"), { name }), () =>
            this.act("DELETE", `${this.base}/bans/${encodeURIComponent(name)}/`, undefined, () => this.loadBans()),
          ),
        );
      }),
    );
    if (!bans.length) list.append(el("li", { className: "empty", text: gettext("No one is banned.") }));
  }

  // --- invite links

  bindInvites() {
    const form = document.getElementById("invite-form");
    form?.addEventListener("submit", (event) => {
      event.preventDefault();
      const expires = document.getElementById("invite-expires").value;
      const uses = document.getElementById("invite-uses").value.trim();
      const body = {
        expires_in: expires ? Number(expires) : null,
        max_uses: uses ? Number(uses) : null,
      };
      this.act("POST", `${this.base}/invites/`, body, () => this.loadInvites());
    });
  }

  async loadInvites() {
    const list = document.getElementById("invite-list");
    let invites = [];
    try {
      invites = await getJson(`${this.base}/invites/`);
    } catch {
      return;
    }
    list.replaceChildren(...invites.map((invite) => this.drawInvite(invite)));
  }

  drawInvite(invite) {
    const link = new URL(invite.url, window.location.origin).href;
    const box = el("input", {
      className: "invite-url",
      value: link,
      readonly: true,
      "aria-label": gettext("Invite link"),
    });
    box.addEventListener("focus", () => box.select());
    const status = el("span", { className: "copy-status", role: "status" });
    const copy = el("button", { type: "button", className: "copy-invite", text: gettext("Copy") });
    copy.addEventListener("click", async () => {
      status.textContent = (await copyText(link, box)) ? gettext("Copied") : gettext("Select the link and copy it.");
    });
    const uses =
      invite.max_uses === null
        ? interpolate(gettext("used %(uses)s times"), { uses: invite.uses })
        : interpolate(gettext("used %(uses)s of %(max)s times"), { uses: invite.uses, max: invite.max_uses });
    const expiry = el("span", { className: "invite-expiry" });
    if (invite.expires_at) {
      expiry.append(gettext("expires"), " ", timeElement(invite.expires_at));
    } else {
      expiry.textContent = gettext("never expires");
    }
    const revoke = linkButton("revoke-invite", gettext("Revoke"), gettext("Revoke this invite link"), () =>
      this.act("DELETE", `${this.base}/invites/${encodeURIComponent(invite.code)}/`, undefined, () =>
        this.loadInvites(),
      ),
    );
    return el(
      "li",
      { "data-code": invite.code },
      box,
      " ",
      copy,
      " ",
      status,
      el("span", { className: "invite-meta" }, el("span", { className: "invite-uses", text: uses }), " · ", expiry),
      " ",
      revoke,
    );
  }
}

/** Put `text` on the clipboard; without the Clipboard API, the selected box's. */
async function copyText(text, box) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    box.focus();
    box.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
}
