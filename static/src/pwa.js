// Register the service worker (static/src/sw.js, served at /sw.js so its scope is
// the whole app) and ask the browser to keep our storage: a phone short of space
// may otherwise evict the offline shell and the scans kept on the device.
export function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  // After the load event: the first paint does not wait for the precache downloads.
  const register = () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((error) => {
      console.warn('service worker not registered', error);
    });
  };
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, { once: true });
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persisted().then((already) => already || navigator.storage.persist())
      .catch(() => {});
  }
}

/** Forget what belongs to the logged-out user: saved API answers and their pages. */
export async function forgetUserData() {
  if (!('caches' in window)) return;
  const names = await caches.keys();
  await Promise.all(names.map(async (name) => {
    if (name.startsWith('haicang-api')) return caches.delete(name);
    if (name.startsWith('haicang-shell')) {
      // The pages painted for this user (home, orders, one order, stock); not /login.
      const cache = await caches.open(name);
      const mine = /^\/(orders(\/\d+)?|stock|floor(\/.*)?)?$/;
      const pages = (await cache.keys()).filter((request) => mine.test(new URL(request.url).pathname));
      return Promise.all(pages.map((request) => cache.delete(request, { ignoreVary: true })));
    }
    return false;
  }));
}
