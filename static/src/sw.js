// Haicang's service worker: the app shell offline.
//
// - The shell (hashed JS and CSS, icons, manifest, /login and, for a logged-in
//   user, /) is precached at install, in a cache named after the build's version
//   hash: a new build installs a new cache and the old one is deleted.
// - Navigations are network-first: the freshest page when online, the saved shell
//   when not (dead aisle Wi-Fi, a van between towers). The app's screens (/, /orders,
//   /orders/<id>, /stock) are all one shell that routes by its URL, so a screen never
//   saved falls back to another saved screen of the shell, which then shows the
//   right one from the saved API answers.
// - GET /api/* is network-first with the last answer saved as the fallback, marked
//   X-Haicang-Offline: 1 so the page can say it is showing saved data.
// - Anything else (POST and friends, Socket.IO, other hosts) is left to the network:
//   a state change is never answered from a cache.
//
// - The floor (/floor, /floor/pick/<id>, /floor/receive …) is one more shell page
//   of the same kind; its data lives in IndexedDB, not here. /api/sync/* is never
//   answered from a cache (a replayed pull would undo newer local data).
// - Background Sync: the `sync` event pushes the outbox (static/src/outbox.js)
//   even with the page closed, then tells any open page.
// - Other files of the build (the camera bundle, the ZXing .wasm) are cached the
//   first time they are used.
//
// build.mjs defines __VERSION__ and __PRECACHE__ (the list of static shell files).
import { flush, pull } from './outbox.js';

/* global __VERSION__, __PRECACHE__ */
const VERSION = __VERSION__;
const STATIC_URLS = __PRECACHE__;
// Pages are fetched one by one: "/" redirects to /login when nobody is logged in,
// and a redirect must never be cached as the page itself.
const PAGE_URLS = ['/', '/orders', '/floor', '/login'];
// The logged-in user's pages, saved by path (their query is the screen's filters):
// forgotten when the session is gone.
const USER_PAGE = /^\/(orders(\/\d+)?|stock|service|booking|dispatch|channels(\/(exceptions|dead-letters))?|floor(\/(pick\/\d+|receive|move|count|ship|pack|exceptions))?)?\/?$/;

/** The saved copy a path is kept under: /orders/12 is saved as itself. */
function pageKey(pathname) {
  return pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname;
}
const SHELL_CACHE = `haicang-shell-${VERSION}`;
const API_CACHE = 'haicang-api-v1';
const MATCH = { ignoreVary: true }; // Flask sends Vary: Cookie; the cache has no cookies

async function precachePages(cache) {
  await Promise.all(PAGE_URLS.map(async (url) => {
    try {
      const response = await fetch(url, { cache: 'reload', credentials: 'same-origin' });
      if (response.ok && !response.redirected) await cache.put(url, response);
    } catch {
      // Offline during install: the page is saved on the next visit instead.
    }
  }));
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // cache: 'reload' skips the HTTP cache so the precache is exactly this build.
    await cache.addAll(STATIC_URLS.map((url) => new Request(url, { cache: 'reload' })));
    await precachePages(cache);
    // The new shell takes over at once: its assets are all in the new cache.
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith('haicang-shell-') && name !== SHELL_CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

function offlinePage() {
  return new Response(
    '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
    + '<title>Haicang</title><p style="font:20px system-ui;padding:24px">Offline · 离线 · Sin conexión</p>',
    { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
}

async function forgetUserPages(cache) {
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (path !== '/login' && USER_PAGE.test(path)) await cache.delete(request, MATCH);
  }
}

async function navigate(request) {
  const url = new URL(request.url);
  const key = pageKey(url.pathname);
  const isPage = key === '/login' || USER_PAGE.test(key);
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (isPage) {
      if (response.ok && response.type === 'basic' && !response.redirected) {
        await cache.put(key, response.clone());
      } else if (key !== '/login' && response.type === 'opaqueredirect') {
        // Sent to /login: the session is gone, so is the right to see its pages.
        await forgetUserPages(cache);
      }
    }
    return response;
  } catch {
    // No network: this page if saved; else, for one order, the saved order list;
    // else the home shell (which shows the screen its URL names), else the log-in.
    return (await cache.match(key, MATCH))
      || (key.startsWith('/orders/') && await cache.match('/orders', MATCH))
      || (key.startsWith('/floor/') && await cache.match('/floor', MATCH))
      || (key.startsWith('/channels/') && await cache.match('/channels', MATCH))
      || (await cache.match('/', MATCH))
      || (await cache.match('/login', MATCH))
      || offlinePage();
  }
}

async function apiNetworkFirst(request) {
  const cache = await caches.open(API_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch {
    const saved = await cache.match(request, MATCH);
    if (saved) {
      const headers = new Headers(saved.headers);
      headers.set('X-Haicang-Offline', '1');
      return new Response(saved.body, { status: saved.status, statusText: saved.statusText, headers });
    }
    return new Response(JSON.stringify({
      error: 'offline', message: 'No network and no saved copy of this data', fields: {},
    }), { status: 503, headers: { 'Content-Type': 'application/json' } });
  }
}

async function cacheFirst(request) {
  const saved = await caches.match(request, MATCH);
  return saved || fetch(request);
}

/** A build file not in the precache (camera bundle, .wasm): saved on first use. */
async function cacheOnUse(request) {
  const saved = await caches.match(request, MATCH);
  if (saved) return saved;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(SHELL_CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

// -- Background Sync: push the outbox with no page open -------------------------------

async function fetchJson(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

const workerTransport = {
  async post(path, body) {
    const { csrf_token: token } = await fetchJson('/api/auth/csrf', { cache: 'no-store' });
    return fetchJson(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': token },
      body: JSON.stringify(body),
    });
  },
  get: (path) => fetchJson(path, { cache: 'no-store', headers: { Accept: 'application/json' } }),
};

async function tellPages(kind) {
  for (const client of await self.clients.matchAll({ type: 'window' })) {
    client.postMessage({ type: 'haicang-outbox', kind });
  }
}

self.addEventListener('sync', (event) => {
  if (event.tag !== 'haicang-outbox') return;
  event.waitUntil((async () => {
    const result = await flush(workerTransport);
    // Rejecting makes the browser try again later, with its own back-off.
    if (!result.ok) throw result.error || new Error('push failed');
    await tellPages('outbox');
    try {
      await pull(workerTransport);
      await tellPages('data');
    } catch {
      // The pull is a nicety here: the page pulls when it next runs.
    }
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return; // never cache or replay a state change
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/socket.io/')) return;

  if (request.mode === 'navigate') {
    event.respondWith(navigate(request));
  } else if (url.pathname.startsWith('/api/')) {
    // A fresh token each time: a saved one would be wrong after the next log-in.
    if (url.pathname === '/api/auth/csrf') return;
    if (url.pathname.startsWith('/api/sync/')) return;
    event.respondWith(apiNetworkFirst(request));
  } else if (STATIC_URLS.includes(url.pathname)) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname.startsWith('/static/dist/') && !url.pathname.endsWith('.map')) {
    event.respondWith(cacheOnUse(request));
  }
});
