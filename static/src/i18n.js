// The three languages of the first screens. The dictionaries are small, so all of
// them ship in the bundle: switching language then works offline and at once.
// The server renders the first paint from the same JSON files (server/web).
import en from './i18n/en.json';
import zhCN from './i18n/zh-CN.json';
import es from './i18n/es.json';

export const DICTIONARIES = { en, 'zh-CN': zhCN, es };
export const LOCALES = Object.keys(DICTIONARIES);
const LOCALE_COOKIE = 'hc_locale';

let current = 'en';

/** Map a BCP 47 tag (navigator.language, a user setting) to one we have, or null. */
export function matchLocale(tag) {
  if (!tag) return null;
  const lower = String(tag).toLowerCase();
  // Every Chinese tag gets Simplified Chinese: closer than English for zh-TW too.
  if (lower === 'zh' || lower.startsWith('zh-')) return 'zh-CN';
  const primary = lower.split('-')[0];
  return LOCALES.find((l) => l.toLowerCase() === lower || l.toLowerCase() === primary) || null;
}

/** The user's own setting wins, then what the browser prefers, then English. */
export function pickLocale(userLocale) {
  const fromUser = matchLocale(userLocale);
  if (fromUser) return fromUser;
  const browser = navigator.languages && navigator.languages.length
    ? navigator.languages : [navigator.language];
  for (const tag of browser) {
    const found = matchLocale(tag);
    if (found) return found;
  }
  return 'en';
}

export function currentLocale() {
  return current;
}

export function setLocale(locale) {
  current = matchLocale(locale) || 'en';
  document.documentElement.lang = current;
  // Remembered for the log-in page, which the server renders before anyone is known.
  document.cookie = `${LOCALE_COOKIE}=${current}; path=/; max-age=31536000; samesite=lax`;
  return current;
}

/** The string for `key` in the current language ({name} placeholders filled). */
export function t(key, vars) {
  const text = DICTIONARIES[current][key] ?? en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/**
 * Rewrite every element that names its string with data-i18n (text) or
 * data-i18n-placeholder / -aria-label / -title (attributes).
 */
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const attr of ['placeholder', 'aria-label', 'title']) {
    const dataKey = 'i18n' + attr.replace(/(^|-)(\w)/g, (m, d, c) => c.toUpperCase());
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.dataset[dataKey]));
    }
  }
  // The window title too (the task switcher shows it), from <body data-title-key>.
  const titleKey = document.body && document.body.dataset.titleKey;
  if (titleKey) document.title = `${t(titleKey)} · Haicang 海仓`;
  for (const button of root.querySelectorAll('[data-locale]')) {
    button.setAttribute('aria-pressed', String(button.dataset.locale === current));
  }
}
