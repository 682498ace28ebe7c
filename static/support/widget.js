// The support widget's loader, pasted on a customer's page:
//   <script src="https://chat.example.com/widget.js" data-site="<public key>" async></script>
// It adds a launcher button and nothing else: no cookie, no storage, no
// request to our server until the visitor opens it. Opening it loads the chat
// in a frame of our origin (/support/widget/<key>/), which keeps the visitor's
// token in its own storage (or, where the browser denies a frame of another
// site its storage, asks this page to keep it); our server lets only the site's allowed origins
// frame it (CSP frame-ancestors). A classic script, not a module: it runs on
// pages we do not control, so it defines no global and touches only its own
// elements (in a shadow root).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.site) return;
  var key = script.dataset.site;
  var origin = new URL(script.src, location.href).origin;
  var zh = /^zh/i.test(navigator.language || "");
  var LABELS = zh
    ? { open: "在线咨询", close: "关闭在线咨询" }
    : { open: "Chat with us", close: "Close the chat" };

  var host = document.createElement("div");
  host.setAttribute("data-support-widget", key);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "support-launcher";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-label", LABELS.open);
  launcher.title = LABELS.open;
  launcher.textContent = "\uD83D\uDCAC";
  var badge = document.createElement("span");
  badge.className = "support-badge";
  badge.hidden = true;
  launcher.appendChild(badge);
  place(launcher.style, {
    position: "fixed", right: "20px", bottom: "20px", zIndex: "2147483646",
    width: "56px", height: "56px", borderRadius: "50%", border: "none",
    background: "#2563eb", color: "#fff", fontSize: "26px", cursor: "pointer",
    boxShadow: "0 4px 14px rgba(0,0,0,.25)",
  });
  place(badge.style, {
    position: "absolute", top: "-2px", right: "-2px", minWidth: "18px",
    height: "18px", borderRadius: "9px", background: "#dc2626", color: "#fff",
    fontSize: "12px", lineHeight: "18px", padding: "0 4px",
  });
  root.appendChild(launcher);

  var frame = null;
  // Where the token is kept when the browser denies our frame its storage
  // (third-party storage blocked): this page's own, after the first message.
  var tokenKey = "support.token." + key + (script.dataset.userId ? "." + script.dataset.userId : "");

  function place(style, values) {
    for (var name in values) style[name] = values[name];
  }

  function frameUrl() {
    var query = new URLSearchParams();
    // The page the visitor came from: the frame cannot read it across origins.
    query.set("page", location.href.slice(0, 1000));
    if (script.dataset.userId) query.set("user_id", script.dataset.userId);
    if (script.dataset.userHash) query.set("user_hash", script.dataset.userHash);
    query.set("host", location.origin);
    var kept = null;
    try {
      kept = localStorage.getItem(tokenKey);
    } catch (error) {
      kept = null;
    }
    // In the fragment: never sent to a server, nor in its logs.
    var fragment = kept ? "#token=" + encodeURIComponent(kept) : "";
    return origin + "/support/widget/" + encodeURIComponent(key) + "/?" + query + fragment;
  }

  function setOpen(open) {
    if (open && !frame) {
      frame = document.createElement("iframe");
      frame.className = "support-frame";
      frame.title = LABELS.open;
      frame.src = frameUrl();
      frame.allow = "clipboard-write";
      place(frame.style, {
        position: "fixed", right: "20px", bottom: "88px", zIndex: "2147483646",
        width: "min(380px, calc(100vw - 40px))", height: "min(560px, calc(100vh - 120px))",
        border: "none", borderRadius: "12px", background: "#fff",
        boxShadow: "0 8px 30px rgba(0,0,0,.3)",
      });
      root.appendChild(frame);
    }
    if (frame) frame.hidden = !open;
    if (frame) frame.style.display = open ? "block" : "none";
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.setAttribute("aria-label", open ? LABELS.close : LABELS.open);
    if (open) badge.hidden = true;
  }

  launcher.addEventListener("click", function () {
    setOpen(!(frame && !frame.hidden));
  });

  // The frame tells us (and only it may): close me, or how many are unread.
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.type === "support.close") setOpen(false);
    if (data.type === "support.token") {
      try {
        if (data.token) localStorage.setItem(tokenKey, String(data.token));
        else localStorage.removeItem(tokenKey);
      } catch (error) {
        // no storage here either: the conversation lasts as long as the page
      }
    }
    if (data.type === "support.unread" && frame.hidden) {
      badge.textContent = String(data.count || "");
      badge.hidden = !data.count;
    }
  });

  function attach() {
    document.body.appendChild(host);
  }
  if (document.body) attach();
  else document.addEventListener("DOMContentLoaded", attach);
})();
