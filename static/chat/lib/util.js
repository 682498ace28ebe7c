// Small helpers every module uses: translations, elements, times, HTTP.
//
// Translations come from Django's JavaScript catalog (/jsi18n/), loaded before
// the modules. Every string a user wrote goes in the page as text, never as
// HTML, except a message body, which goes through lib/markdown.js.

export const gettext = (text) => (window.gettext ? window.gettext(text) : text);
export const ngettext = (one, many, count) =>
  window.ngettext ? window.ngettext(one, many, count) : count === 1 ? one : many;
export const interpolate = (format, values) =>
  window.interpolate
    ? window.interpolate(format, values, true)
    : format.replace(/%\((\w+)\)s/g, (_, key) => values[key]);

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export function pageLocale() {
  const lang = document.documentElement.lang || "en";
  return lang.toLowerCase() === "zh-hans" ? "zh-Hans-CN" : lang;
}

const timeFormat = new Intl.DateTimeFormat(pageLocale(), {
  hour: "2-digit",
  minute: "2-digit",
});
const dateTimeFormat = new Intl.DateTimeFormat(pageLocale(), {
  dateStyle: "medium",
  timeStyle: "short",
});
const shortDateFormat = new Intl.DateTimeFormat(pageLocale(), { dateStyle: "medium" });
const dayFormat = new Intl.DateTimeFormat(pageLocale(), {
  weekday: "long",
  year: "numeric",
  month: "long",
  day: "numeric",
});
const fullFormat = new Intl.DateTimeFormat(pageLocale(), {
  dateStyle: "full",
  timeStyle: "long",
});

export function sameDay(a, b) {
  return (
    a.getFullYear() === b.getFullYear() &&
    a.getMonth() === b.getMonth() &&
    a.getDate() === b.getDate()
  );
}

/** The reader's local day of a date, as a key ("2026-12-02"). */
export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** "Today", "Yesterday" or the date, in the reader's language and zone. */
export function dayLabel(date, now = new Date()) {
  if (sameDay(date, now)) return gettext("Today");
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(date, yesterday)) return gettext("Yesterday");
  return dayFormat.format(date);
}

/** A <time> element in the reader's time zone and language. */
export function timeElement(iso, { className = "when", timeOnly = false } = {}) {
  const node = el("time", { className, datetime: iso });
  setTime(node, new Date(iso), { timeOnly });
  return node;
}

export function setTime(node, date, { timeOnly = node.dataset.timeOnly === "1" } = {}) {
  if (Number.isNaN(date.getTime())) return;
  if (timeOnly) node.dataset.timeOnly = "1";
  node.textContent =
    timeOnly || sameDay(date, new Date()) ? timeFormat.format(date) : dateTimeFormat.format(date);
  node.title = fullFormat.format(date);
  node.setAttribute("datetime", date.toISOString());
}

/** A short time for the conversation list: the hour today, else the date. */
export function setListTime(node, date) {
  if (Number.isNaN(date.getTime())) return;
  node.textContent = sameDay(date, new Date())
    ? timeFormat.format(date)
    : shortDateFormat.format(date);
  node.title = fullFormat.format(date);
  node.setAttribute("datetime", date.toISOString());
}

/** Times the server rendered (in UTC) shown again in the reader's zone. */
export function localizeTimes(root = document) {
  for (const node of root.querySelectorAll("time[datetime]")) {
    const date = new Date(node.getAttribute("datetime"));
    if (node.classList.contains("list-when")) setListTime(node, date);
    else setTime(node, date);
  }
}

export function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export async function getJson(url) {
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) {
    const error = new Error(`HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

/**
 * A JSON request with the session cookie and the CSRF token. Resolves to the
 * body (null for 204); an error answer rejects with its `code` and `detail`.
 */
export async function sendJson(method, url, body = undefined) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "X-CSRFToken": csrfToken(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new Error(data?.detail || `HTTP ${response.status}`);
    error.status = response.status;
    error.code = data?.code || "error";
    error.detail = data?.detail || gettext("The server refused it.");
    throw error;
  }
  return data;
}

/** A colour class (one of 10, each AA with white text) from a user id. */
export function avatarClass(id) {
  return `avatar c${Math.abs(Number(id) || 0) % 10}`;
}

/** The first two characters of a name, as the pages' templates show them. */
export function initials(name) {
  return Array.from(String(name || "?")).slice(0, 2).join("").toUpperCase();
}

export function avatar(user, size = "") {
  return el("span", {
    className: `${avatarClass(user.id)}${size ? ` ${size}` : ""}`,
    "aria-hidden": "true",
    // Its presence dot and "last seen" (views/presence.js).
    "data-user": user.id,
    text: initials(user.username),
  });
}
