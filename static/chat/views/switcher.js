// The quick switcher (Ctrl/Cmd+K): type part of a name, go to any of my
// conversations or to anyone (a direct conversation) found by /api/users/.

import { avatar, debounce, el, getJson, gettext } from "../lib/util.js";

export function bindSwitcher(store) {
  const dialog = document.getElementById("switcher");
  const input = document.getElementById("switcher-input");
  const results = document.getElementById("switcher-results");
  const opener = document.getElementById("open-switcher");
  if (!dialog || !input || !results) return;
  let items = [];
  let active = 0;
  let people = [];
  let asked = 0;

  const draw = () => {
    const query = input.value.trim().toLowerCase();
    const conversations = store
      .all()
      .filter((c) => !query || c.name.toLowerCase().includes(query) || c.key.includes(query));
    const known = new Set(store.directs.map((d) => d.user.username));
    const others = people.filter((p) => !known.has(p.username));
    items = [
      ...conversations.map((c) => ({
        href: c.href,
        label: c.name,
        hint: c.kind === "room" ? gettext("Room") : gettext("Direct conversation"),
        user: c.user,
      })),
      ...others.map((p) => ({
        href: `/dm/${encodeURIComponent(p.username)}/`,
        label: p.username,
        hint: gettext("Person"),
        user: p,
      })),
    ].slice(0, 30);
    active = Math.min(active, Math.max(0, items.length - 1));
    results.replaceChildren(
      ...items.map((item, index) => {
        const option = el(
          "li",
          {
            id: `switcher-option-${index}`,
            role: "option",
            "aria-selected": index === active ? "true" : "false",
          },
          item.user ? avatar(item.user, "small") : el("span", { className: "room-icon", "aria-hidden": "true", text: "#" }),
          el("span", { className: "name", text: item.label }),
          el("span", { className: "hint", text: item.hint }),
        );
        option.addEventListener("click", () => go(index));
        return option;
      }),
    );
    if (!items.length) {
      results.append(el("li", { className: "empty", text: gettext("No matches.") }));
    }
    input.setAttribute("aria-activedescendant", items.length ? `switcher-option-${active}` : "");
    results.querySelector("[aria-selected=true]")?.scrollIntoView({ block: "nearest" });
  };

  const findPeople = debounce(async () => {
    const query = input.value.trim();
    const mine = ++asked;
    try {
      const answer = await getJson(`/api/users/?q=${encodeURIComponent(query)}`);
      if (mine !== asked) return;
      people = answer.users;
      draw();
    } catch {
      // Offline: conversations still match.
    }
  }, 150);

  const go = (index) => {
    const item = items[index];
    if (!item) return;
    dialog.close();
    location.assign(item.href);
  };

  const open = () => {
    if (dialog.open) return;
    input.value = "";
    people = [];
    active = 0;
    dialog.showModal();
    draw();
    findPeople();
    input.focus();
  };

  input.addEventListener("input", () => {
    active = 0;
    draw();
    findPeople();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      active = Math.min(items.length - 1, active + 1);
      draw();
      event.preventDefault();
    } else if (event.key === "ArrowUp") {
      active = Math.max(0, active - 1);
      draw();
      event.preventDefault();
    } else if (event.key === "Escape") {
      // A search box would only clear itself: Esc closes the switcher.
      event.preventDefault();
      dialog.close();
    } else if (event.key === "Enter") {
      event.preventDefault();
      go(active);
    }
  });
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
      event.preventDefault();
      open();
    }
  });
  store.subscribe(() => dialog.open && draw());
  if (opener) {
    opener.hidden = false;
    opener.addEventListener("click", open);
  }
}
