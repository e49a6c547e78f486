// Small shared helpers: DOM building and formats in the current language (Intl does
// the work: grouping, currency signs, month names, plural forms).
import { currentLocale, t } from './i18n.js';

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

export function number(n) {
  return new Intl.NumberFormat(currentLocale()).format(n);
}

export function money(cents, currency = 'USD') {
  const value = (cents || 0) / 100;
  try {
    return new Intl.NumberFormat(currentLocale(), { style: 'currency', currency }).format(value);
  } catch {
    return `${currency} ${value.toFixed(2)}`;
  }
}

/** "Nov 24, 2:05 PM" / "11月24日 14:05": the phone's own time zone. */
export function dateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return new Intl.DateTimeFormat(currentLocale(), {
    year: sameYear ? undefined : 'numeric', month: 'short', day: 'numeric',
    hour: 'numeric', minute: '2-digit',
  }).format(d);
}

export function day(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(currentLocale(), { month: 'short', day: 'numeric' }).format(d);
}

/** The plural form of `key` for n: key.one / key.other ... (Intl.PluralRules). */
export function tn(key, n, vars = {}) {
  let category = 'other';
  try {
    category = new Intl.PluralRules(currentLocale()).select(n);
  } catch {
    // very old WebView: "other" reads fine in every language we have
  }
  const full = `${key}.${category}`;
  const text = t(full, { n: number(n), ...vars });
  return text === full ? t(`${key}.other`, { n: number(n), ...vars }) : text;
}

export function statusName(status) {
  const key = `order_status.${status}`;
  const text = t(key);
  return text === key ? status : text;
}

export function channelName(channel) {
  const key = `channel.${channel}`;
  const text = t(key);
  return text === key ? channel : text;
}

/** A status badge: colour AND words (never colour alone). */
export function statusBadge(status) {
  const badge = el('span', `status status-${status}`, statusName(status));
  badge.dataset.status = status;
  return badge;
}

export function channelBadge(channel) {
  return el('span', `channel channel-${channel}`, channelName(channel));
}

let toastTimer = null;
export function toast(message) {
  const box = $('toast');
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
}

/** Say (or stop saying) that what is on screen is the copy saved for offline use. */
export function savedDataNote(fromCache) {
  const note = $('data-note');
  if (note) note.hidden = !fromCache;
}
