// Online or offline, shown at all times (UX.md: "Always visible"). The browser's
// navigator.onLine says when there is no network at all; a failed request or an
// answer from the service worker's saved copy says the server is out of reach
// even when the radio is up (dead warehouse Wi-Fi with a captive portal).
import { t } from './i18n.js';

let online = navigator.onLine;
const listeners = new Set();

export function isOnline() {
  return online;
}

export function onNetworkChange(fn) {
  listeners.add(fn);
}

export function setOnline(value) {
  value = Boolean(value);
  if (value === online) return;
  online = value;
  renderBadge();
  for (const fn of listeners) fn(online);
}

export function renderBadge() {
  const badge = document.getElementById('net-badge');
  if (!badge) return;
  const state = online ? 'online' : 'offline';
  badge.dataset.state = state;
  badge.textContent = t(`status.${state}`);
}

export function watchNetwork() {
  window.addEventListener('online', () => setOnline(true));
  window.addEventListener('offline', () => setOnline(false));
  renderBadge();
}
