// Screens by URL, with the history API: /, /orders, /orders/<id>, /stock. The server
// paints whichever the URL names (all of the role's screens are in the page, the
// others hidden); this shows the right one after a tap, a back button or a reload,
// without a page load, and keeps each screen's scroll position in its history entry.
import { applyTranslations } from './i18n.js';
import { savedDataNote } from './format.js';

const ROUTES = [
  { name: 'home', re: /^\/$/ },
  { name: 'orders', re: /^\/orders\/?$/ },
  { name: 'order', re: /^\/orders\/(\d+)\/?$/, params: (m) => ({ id: Number(m[1]) }) },
  { name: 'stock', re: /^\/stock\/?$/ },
  { name: 'channels', re: /^\/channels\/?$/ },
  { name: 'held', re: /^\/channels\/exceptions\/?$/ },
  { name: 'deadletters', re: /^\/channels\/dead-letters\/?$/ },
  { name: 'service', re: /^\/service\/?$/ },
  { name: 'booking', re: /^\/booking\/?$/ },
  { name: 'dispatch', re: /^\/dispatch\/?$/ },
  { name: 'tasks', re: /^\/floor\/?$/ },
  { name: 'pick', re: /^\/floor\/pick\/(\d+)\/?$/, params: (m) => ({ id: Number(m[1]) }) },
  { name: 'receive', re: /^\/floor\/receive\/?$/ },
  { name: 'move', re: /^\/floor\/move\/?$/ },
  { name: 'count', re: /^\/floor\/count\/?$/ },
  { name: 'ship', re: /^\/floor\/ship\/?$/ },
  { name: 'pack', re: /^\/floor\/pack\/?$/ },
  { name: 'exceptions', re: /^\/floor\/exceptions\/?$/ },
];

// Sub-screens of the Channels tab (the tab stays lit, the sub-navigation follows).
const CHANNEL_SUBS = ['channels', 'held', 'deadletters'];

export function matchRoute(pathname) {
  for (const route of ROUTES) {
    const m = route.re.exec(pathname);
    if (m) return { name: route.name, params: route.params ? route.params(m) : {} };
  }
  return null;
}

/**
 * factories: {screen name: (root) => controller}; controllers may have
 * show(params, query, info), hide(), rerender(), refresh() and event handlers.
 * titles: {screen name: i18n key of the window title}.
 */
export function createRouter({ allowed, factories, titles }) {
  const controllers = {};
  let current = null;
  let depth = 0; // entries pushed by us: "back" can go back instead of forward

  if ('scrollRestoration' in history) history.scrollRestoration = 'manual';

  function rememberScroll() {
    const state = { ...(history.state || {}), scrollY: window.scrollY };
    history.replaceState(state, '', location.href);
  }

  function show(url, { push = false, replace = false, scrollY = 0 } = {}) {
    const target = new URL(url, location.href);
    const route = matchRoute(target.pathname);
    if (target.origin !== location.origin || !route || !allowed.includes(route.name)) {
      location.assign(target.href);
      return;
    }
    if (push) {
      rememberScroll();
      depth += 1;
      history.pushState({ depth }, '', target.pathname + target.search);
    } else if (replace) {
      history.replaceState({ ...(history.state || {}) }, '', target.pathname + target.search);
    }
    const changed = current !== route.name;
    if (changed && current && controllers[current]?.hide) controllers[current].hide();
    for (const screen of document.querySelectorAll('.screen')) {
      screen.hidden = screen.dataset.screen !== route.name;
    }
    for (const tab of document.querySelectorAll('.tabbar [data-tab]')) {
      const on = tab.dataset.tab === route.name || (route.name === 'order' && tab.dataset.tab === 'orders')
        || (CHANNEL_SUBS.includes(route.name) && tab.dataset.tab === 'channels');
      if (on) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    for (const sub of document.querySelectorAll('.subnav [data-sub]')) {
      if (sub.dataset.sub === route.name) sub.setAttribute('aria-current', 'page');
      else sub.removeAttribute('aria-current');
    }
    document.body.dataset.titleKey = titles[route.name] || '';
    document.body.dataset.screen = route.name;
    applyTranslations(document.head);
    if (changed) savedDataNote(false);
    const root = document.querySelector(`.screen[data-screen="${route.name}"]`);
    const first = !controllers[route.name];
    if (first) controllers[route.name] = factories[route.name](root) || {};
    current = route.name;
    const controller = controllers[route.name];
    if (controller.show) controller.show(route.params, target.searchParams, { first });
    if (push || changed) window.scrollTo(0, scrollY);
  }

  function navigate(url, options = {}) {
    show(url, { push: !options.replace, replace: Boolean(options.replace) });
  }

  /** Back to where the user came from when that was one of our screens, else `fallback`. */
  function back(fallback) {
    if (depth > 0) history.back();
    else navigate(fallback);
  }

  window.addEventListener('popstate', (event) => {
    depth = (event.state && event.state.depth) || 0;
    show(location.href, { scrollY: (event.state && event.state.scrollY) || 0 });
  });

  // Taps on links to our own screens switch screens without a page load.
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
        || event.shiftKey || event.altKey) return;
    const link = event.target.closest && event.target.closest('a[href]');
    if (!link || link.target || link.hasAttribute('download')) return;
    const url = new URL(link.href, location.href);
    const route = matchRoute(url.pathname);
    if (url.origin !== location.origin || !route || !allowed.includes(route.name)) return;
    event.preventDefault();
    if (link.hasAttribute('data-back')) back(url.href);
    else navigate(url.href);
  });

  function each(method, ...args) {
    for (const controller of Object.values(controllers)) {
      if (controller[method]) controller[method](...args);
    }
  }

  return {
    start() {
      history.replaceState({ depth: 0 }, '', location.href);
      show(location.href);
    },
    navigate,
    back,
    each,
    current: () => current,
    controller: (name) => controllers[name],
  };
}
