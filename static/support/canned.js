// Canned replies: typing `/` at the start of the reply box opens them; the
// letters after it filter; Enter or a click puts the reply in the box with its
// variables filled ({visitor.name}, {visitor.email}, {agent.name}, {site.name}).

import { el } from "../chat/lib/util.js";

const me = () => JSON.parse(document.getElementById("page-data").textContent).me;

/** The reply's text with the conversation's values in its variables. */
export function fill(text, conversation) {
  const values = {
    "visitor.name": conversation?.visitor?.name || "",
    "visitor.email": conversation?.visitor?.email || "",
    "agent.name": me().display_name || me().username || "",
    "site.name": conversation?.site?.name || "",
  };
  return text.replace(/\{([a-z]+\.[a-z_]+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}

export function bindCanned(box, menu, replies, currentConversation) {
  let matches = [];
  let chosen = 0;

  function close() {
    menu.hidden = true;
    box.setAttribute("aria-expanded", "false");
  }

  function render() {
    menu.replaceChildren(
      ...matches.map((reply, index) =>
        el(
          "li",
          { role: "option", "data-index": index, "aria-selected": index === chosen ? "true" : "false" },
          el("strong", {}, `/${reply.shortcut}`),
          " ",
          el("span", {}, reply.text),
        ),
      ),
    );
    menu.hidden = matches.length === 0;
  }

  function pick(index) {
    const reply = matches[index];
    if (!reply) return;
    box.value = fill(reply.text, currentConversation());
    close();
    box.focus();
  }

  box.addEventListener("input", () => {
    const match = /^\/(\S*)$/.exec(box.value);
    if (!match) return close();
    const wanted = match[1].toLowerCase();
    matches = replies.filter(
      (reply) => reply.shortcut.toLowerCase().startsWith(wanted) || reply.text.toLowerCase().includes(wanted),
    );
    chosen = 0;
    box.setAttribute("aria-expanded", "true");
    render();
  });
  box.addEventListener("keydown", (event) => {
    if (menu.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      chosen = (chosen + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
      render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      pick(chosen);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  menu.addEventListener("mousedown", (event) => {
    const item = event.target.closest("li[data-index]");
    if (!item) return;
    event.preventDefault();
    pick(Number(item.dataset.index));
  });
}
