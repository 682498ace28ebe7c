// A sound and a desktop notification when a conversation arrives in the queue
// or is given to me. Browsers allow sound and notifications only after a
// gesture: the page's button asks once.

import { gettext, interpolate } from "../chat/lib/util.js";

let audio = null;

function beep() {
  if (!audio) return;
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.frequency.value = 880;
  gain.gain.setValueAtTime(0.15, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start();
  oscillator.stop(audio.currentTime + 0.4);
}

export function bindAlerts(button) {
  button.addEventListener("click", async () => {
    audio = audio || new AudioContext();
    await audio.resume();
    if ("Notification" in window && Notification.permission === "default") {
      await Notification.requestPermission();
    }
    button.hidden = true;
    beep();
  });
}

/** A new conversation for me to see: sound, notification, and a counter for tests. */
export function alertNew(conversation, name) {
  document.body.dataset.alerts = String(Number(document.body.dataset.alerts || 0) + 1);
  beep();
  if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
  const notice = new Notification(interpolate(gettext("New conversation: %(name)s"), { name }), {
    body: conversation.site?.name || "",
    tag: `support-${conversation.id}`,
  });
  notice.onclick = () => {
    window.focus();
    location.hash = `#conversation-${conversation.id}`;
    location.reload();
  };
}
