// Editing a message in place: its body becomes a box holding the text I
// wrote; Enter saves, Shift+Enter starts a new line, Escape cancels. The
// message shows the server's state again once the edit is stored (the
// `message.edited` frame or the PATCH answer), or as it was if cancelled.

import { el, gettext } from "../lib/util.js";

export class MessageEditor {
  constructor({ onSave, onClose }) {
    this.onSave = onSave; // async (id, body) -> resolves when stored, rejects with {code}
    this.onClose = onClose; // (id) -> draw the message again
    this.editing = null; // {id, li, box}
  }

  isEditing(id) {
    return this.editing?.id === id;
  }

  open(li, message) {
    this.cancel();
    const box = el("textarea", {
      className: "edit-box",
      rows: "2",
      maxlength: "4000",
      "aria-label": gettext("Edit the message"),
    });
    box.value = message.body;
    const save = el("button", { type: "button", className: "primary", text: gettext("Save") });
    const cancel = el("button", { type: "button", text: gettext("Cancel") });
    const form = el(
      "div",
      { className: "editor" },
      box,
      el("p", { className: "helptext", text: gettext("Enter saves, Escape cancels.") }),
      el("div", { className: "editor-buttons" }, save, " ", cancel),
    );
    const body = li.querySelector(".body");
    body.hidden = true;
    body.after(form);
    li.classList.add("editing");
    this.editing = { id: message.id, li, box, form, original: message.body };
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        this.save();
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        this.cancel();
      }
    });
    save.addEventListener("click", () => this.save());
    cancel.addEventListener("click", () => this.cancel());
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  async save() {
    const editing = this.editing;
    if (!editing) return;
    const body = editing.box.value;
    if (body === editing.original) {
      this.cancel();
      return;
    }
    editing.box.disabled = true;
    try {
      await this.onSave(editing.id, body);
      if (this.editing === editing) this.close();
    } catch (error) {
      editing.box.disabled = false;
      editing.box.focus();
      editing.form.querySelector(".action-error")?.remove();
      editing.form.append(el("p", { className: "action-error", role: "alert", text: error.text }));
    }
  }

  cancel() {
    if (this.editing) this.close();
  }

  close() {
    const { id, li, form } = this.editing;
    this.editing = null;
    form.remove();
    li.querySelector(".body").hidden = false;
    li.classList.remove("editing");
    this.onClose(id);
  }
}
