// The HTTP endpoints of the agents' page (docs/protocol.md, "Support").

const base = "/api/support/conversations";

export const api = {
  conversations: () => `${base}/`,
  conversation: (id) => `${base}/${id}/`,
  messages: (id) => `${base}/${id}/messages/`,
  notes: (id) => `${base}/${id}/notes/`,
  take: (id) => `${base}/${id}/take/`,
  transfer: (id) => `${base}/${id}/transfer/`,
  close: (id) => `${base}/${id}/close/`,
  reopen: (id) => `${base}/${id}/reopen/`,
};
