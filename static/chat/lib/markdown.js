// A message body, written in a small Markdown subset, as safe elements.
//
// marked (pinned, vendored) parses; HTML a user typed is never HTML: the
// renderer prints it as text. DOMPurify (pinned, vendored) then keeps only the
// subset's tags (bold, italic, strikethrough, inline code, code blocks,
// quotes, lists, links, line breaks) and `href`; links to anything but
// http(s) and mailto become plain text, and the rest open in a new tab
// without access to this page. Headings, images and tables are shown as
// their text. Each message is rendered once, when it is first drawn; `body`
// on the wire stays the raw text.

import DOMPurify from "../../vendor/dompurify/purify.es.js";
import { Marked } from "../../vendor/marked/marked.esm.js";

const ALLOWED_TAGS = [
  "p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
];
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

function escapeHtml(text) {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    // Raw HTML in a message is text, never markup.
    html({ text }) {
      return escapeHtml(text);
    },
    // A heading is a bold line: chat text does not need page structure.
    heading({ tokens }) {
      return `<p><strong>${this.parser.parseInline(tokens)}</strong></p>\n`;
    },
    image({ text }) {
      return escapeHtml(text || "");
    },
    // The line break stays in the text too, so copying keeps it.
    br() {
      return "<br>\n";
    },
  },
});

/** The body as a fragment of safe elements. */
export function renderMarkdown(body) {
  let html;
  try {
    html = marked.parse(body);
  } catch {
    html = `<p>${escapeHtml(body)}</p>`;
  }
  const fragment = DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ["href"],
    KEEP_CONTENT: true,
    RETURN_DOM_FRAGMENT: true,
  });
  // marked separates blocks with newlines: not part of what was written.
  for (const node of [...fragment.childNodes]) {
    if (node.nodeType === Node.TEXT_NODE && !node.textContent.trim()) node.remove();
  }
  for (const link of fragment.querySelectorAll("a")) {
    let url = null;
    try {
      url = new URL(link.getAttribute("href") || "", location.href);
    } catch {
      url = null;
    }
    if (!url || !SAFE_PROTOCOLS.has(url.protocol) || !link.hasAttribute("href")) {
      link.replaceWith(document.createTextNode(link.textContent));
      continue;
    }
    link.setAttribute("href", url.href);
    link.setAttribute("rel", "noopener noreferrer nofollow");
    link.setAttribute("target", "_blank");
  }
  return fragment;
}
