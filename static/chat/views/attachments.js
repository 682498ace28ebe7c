// Files on messages. The composer's side: an attach button, files dropped on
// the conversation and images pasted into the box, each uploaded at once
// (POST /api/uploads/) with a progress bar, then sent with the next message by
// id. The message's side: image previews that open a viewer, file cards with
// the name and size. The files are fetched with the session cookie; the server
// answers only those who may see them (docs/protocol.md, "Files").

import { csrfToken, el, gettext, interpolate } from "../lib/util.js";

const UNITS = ["B", "KB", "MB", "GB"];

export function formatSize(bytes) {
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < UNITS.length - 1) {
    size /= 1024;
    unit += 1;
  }
  const shown = unit === 0 ? String(size) : size.toFixed(size < 10 ? 1 : 0);
  return `${shown} ${UNITS[unit]}`;
}

/** The uploads waiting in the composer until the next message takes them. */
export class AttachmentTray {
  constructor({ form, box, dropZone }) {
    this.ready = new Map(); // id -> upload payload, in the order they finished
    this.busy = 0;
    this.tray = el("ul", { className: "attachment-tray", id: "attachment-tray" });
    this.tray.hidden = true;
    this.input = el("input", { type: "file", multiple: true, id: "attach-input" });
    this.input.hidden = true;
    const label = gettext("Attach files");
    this.button = el("button", {
      type: "button",
      className: "attach",
      id: "attach-button",
      title: label,
      "aria-label": label,
      text: "+",
    });
    form.prepend(this.tray);
    form.insertBefore(this.button, box);
    form.append(this.input);
    this.button.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      this.addFiles(this.input.files);
      this.input.value = "";
    });
    box.addEventListener("paste", (event) => {
      const files = event.clipboardData?.files;
      if (files && files.length) {
        event.preventDefault();
        this.addFiles(files);
      }
    });
    dropZone.addEventListener("dragover", (event) => {
      if (event.dataTransfer?.types?.includes("Files")) {
        event.preventDefault();
        dropZone.classList.add("dropping");
      }
    });
    dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dropping"));
    dropZone.addEventListener("drop", (event) => {
      dropZone.classList.remove("dropping");
      if (event.dataTransfer?.files?.length) {
        event.preventDefault();
        this.addFiles(event.dataTransfer.files);
      }
    });
  }

  hasFiles() {
    return this.ready.size > 0;
  }

  /** The finished uploads, for the message being sent; the tray empties of them. */
  take() {
    const taken = [...this.ready.values()];
    this.ready.clear();
    for (const item of this.tray.querySelectorAll("li.ready")) item.remove();
    this.tray.hidden = !this.tray.children.length;
    return taken;
  }

  addFiles(files) {
    for (const file of files) this.upload(file);
  }

  upload(file) {
    const progress = el("progress", { max: "100", value: "0" });
    progress.setAttribute("aria-label", interpolate(gettext("Uploading %(name)s"), { name: file.name }));
    const remove = el("button", { type: "button", className: "remove", text: "×" });
    remove.setAttribute("aria-label", interpolate(gettext("Remove %(name)s"), { name: file.name }));
    const item = el(
      "li",
      { className: "uploading" },
      el("span", { className: "name", text: file.name }),
      el("span", { className: "size", text: formatSize(file.size) }),
      progress,
      remove,
    );
    this.tray.append(item);
    this.tray.hidden = false;
    this.busy += 1;
    const request = new XMLHttpRequest();
    let uploaded = null;
    remove.addEventListener("click", () => {
      if (uploaded) this.ready.delete(uploaded.id);
      else request.abort();
      item.remove();
      this.tray.hidden = !this.tray.children.length;
    });
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = Math.round((event.loaded * 100) / event.total);
    });
    request.addEventListener("loadend", () => {
      this.busy -= 1;
      let answer = null;
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        answer = null;
      }
      if (request.status === 201 && answer) {
        uploaded = answer;
        this.ready.set(answer.id, answer);
        item.className = "ready";
        item.dataset.upload = String(answer.id);
        progress.remove();
      } else if (request.readyState === XMLHttpRequest.DONE && item.isConnected) {
        item.className = "failed";
        progress.remove();
        const reason = answer?.detail || gettext("The file could not be uploaded.");
        item.insertBefore(el("span", { className: "error", role: "alert", text: reason }), remove);
      }
    });
    request.open("POST", "/api/uploads/");
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-CSRFToken", csrfToken());
    const data = new FormData();
    data.append("file", file, file.name);
    request.send(data);
  }
}

let viewer = null;

/** One dialog for every image: the whole picture, a link to download it. */
function openViewer(file) {
  if (!viewer) {
    const close = el("button", { type: "button", className: "close", text: gettext("Close") });
    viewer = el(
      "dialog",
      { className: "image-viewer", id: "image-viewer" },
      el("img", { alt: "" }),
      el(
        "p",
        {},
        el("a", { className: "download", download: "" }),
        close,
      ),
    );
    close.addEventListener("click", () => viewer.close());
    viewer.addEventListener("click", (event) => {
      if (event.target === viewer) viewer.close();
    });
    document.body.append(viewer);
  }
  const image = viewer.querySelector("img");
  image.src = file.url;
  image.alt = file.name;
  const link = viewer.querySelector("a.download");
  link.href = file.url;
  link.textContent = interpolate(gettext("Download %(name)s"), { name: file.name });
  viewer.showModal();
}

/** What a message shows of its files, or null when it has none. */
export function renderAttachments(files) {
  if (!Array.isArray(files) || !files.length) return null;
  const list = el("ul", { className: "attachments" });
  for (const file of files) {
    if (file.thumbnail_url) {
      const preview = el("img", {
        src: file.thumbnail_url,
        alt: file.name,
        loading: "lazy",
      });
      const open = el("button", { type: "button", className: "attachment-image" }, preview);
      open.setAttribute("aria-label", interpolate(gettext("View %(name)s"), { name: file.name }));
      open.addEventListener("click", () => openViewer(file));
      list.append(el("li", {}, open));
    } else {
      const card = el(
        "a",
        { className: "attachment-file", href: file.url, download: file.name },
        el("span", { className: "name", text: file.name }),
        el("span", { className: "size", text: formatSize(file.size) }),
      );
      list.append(el("li", {}, card));
    }
  }
  return list;
}
