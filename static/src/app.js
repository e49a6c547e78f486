// The app shell after log-in: one slim top bar (online/offline, the floor's pending
// scans, and a menu with who, language and log out), the
// screens of the user's role (home; for sellers and admins the orders and, for an
// admin, stock) and the tab bar between them. The server painted the screen the URL
// names; this makes it live: data from the API, realtime updates, offline support,
// and screen changes by the history API (router.js).
import { io } from 'socket.io-client';
import { api, NetworkError } from './api.js';
import { toast } from './format.js';
import { adminHome, driverHome, pickerHome, sellerHome, stockScreen } from './homes.js';
import { applyTranslations, pickLocale, setLocale, t } from './i18n.js';
import { bindLanguageSwitch } from './langswitch.js';
import { isOnline, onNetworkChange, watchNetwork } from './net.js';
import { attentionBanner, orderScreen, ordersScreen } from './orders.js';
import { channelsScreen, deadLettersScreen, heldScreen } from './channels.js';
import { serviceScreen } from './service.js';
import { bookingScreen } from './booking.js';
import { dispatchScreen } from './dispatch.js';
import {
  countScreen, exceptionsScreen, moveScreen, packScreen, pickScreen, receiveScreen, shipScreen, tasksScreen,
} from './floor.js';
import { forgetUserData, registerServiceWorker } from './pwa.js';
import { createRouter } from './router.js';
import { startSync, syncNow } from './sync.js';
import { leaveUser, outboxCounts } from './outbox.js';

const boot = JSON.parse(document.getElementById('boot').textContent);
const HOMES = { admin: adminHome, seller: sellerHome, picker: pickerHome, driver: driverHome };
const TITLES = {
  home: `${boot.role}.title`, orders: 'orders.title', order: 'order.title', stock: 'stock.title',
  tasks: 'floor.tasks_title', pick: 'floor.pick_title', receive: 'floor.receive_title',
  move: 'floor.move_title', count: 'floor.count_title', ship: 'floor.ship_title',
  pack: 'floor.pack_title',
  exceptions: 'floor.exceptions_title',
  channels: 'channels.title', held: 'held.title', deadletters: 'dead.title',
  service: 'service.title', booking: 'booking.title', dispatch: 'dispatch.title',
};
const FLOOR = (boot.screens || []).includes('tasks');
// The driver's proofs go through the same outbox (static/src/driver/).
const OUTBOX = FLOOR || boot.role === 'driver';

setLocale(pickLocale(boot.locale));
applyTranslations();
watchNetwork();
registerServiceWorker();

/** A home with the orders that need a look on top (sellers, admins). */
function withAttention(root, home) {
  if (!(boot.screens || []).includes('orders')) return home;
  const banner = attentionBanner(root);
  const both = (name) => (...args) => {
    if (banner[name]) banner[name](...args);
    if (home[name]) home[name](...args);
  };
  return { ...home, refresh: both('refresh'), rerender: both('rerender'), onOrderUpdated: both('onOrderUpdated') };
}

const router = createRouter({
  allowed: boot.screens || ['home'],
  titles: TITLES,
  factories: {
    home: (root) => withAttention(root, (HOMES[boot.role] || driverHome)(boot, root)),
    orders: (root) => ordersScreen(boot, root),
    order: (root) => orderScreen(boot, root),
    stock: (root) => stockScreen(boot, root),
    tasks: (root) => tasksScreen(boot, root),
    pick: (root) => pickScreen(boot, root),
    receive: (root) => receiveScreen(boot, root),
    move: (root) => moveScreen(boot, root),
    count: (root) => countScreen(boot, root),
    ship: (root) => shipScreen(boot, root),
    pack: (root) => packScreen(boot, root),
    exceptions: (root) => exceptionsScreen(boot, root),
    channels: (root) => channelsScreen(boot, root),
    held: (root) => heldScreen(boot, root),
    deadletters: (root) => deadLettersScreen(boot, root),
    service: (root) => serviceScreen(boot, root),
    booking: (root) => bookingScreen(boot, root),
    dispatch: (root) => dispatchScreen(boot, root),
  },
});
boot.router = router;
// The floor's outbox: pushed now, and whenever the network comes back.
if (OUTBOX) startSync(boot.id);
router.start();

bindLanguageSwitch({
  rerender: () => router.each('rerender'),
  async persist(locale) {
    try {
      await api('/api/auth/me', { method: 'PATCH', body: { locale } });
      boot.locale = locale;
    } catch (error) {
      // Shown in the new language; this device keeps it until the next log-in.
      toast(error instanceof NetworkError ? t('err.offline_action')
        : t('err.server', { status: error.status || '?' }));
    }
  },
});

// The slim bar's menu (who, language, log out): folded on the working screens,
// unfolded by its button; folded again on the next screen change or a tap outside.
const topbar = document.getElementById('topbar');
const menuToggle = document.getElementById('menu-toggle');
function setMenu(open) {
  topbar.dataset.menu = open ? 'open' : 'closed';
  menuToggle.setAttribute('aria-expanded', String(open));
}
menuToggle?.addEventListener('click', () => setMenu(topbar.dataset.menu !== 'open'));
document.addEventListener('click', (event) => {
  if (topbar.dataset.menu === 'open' && !topbar.contains(event.target)) setMenu(false);
});
window.addEventListener('popstate', () => setMenu(false));
document.addEventListener('click', (event) => {
  if (event.target.closest && event.target.closest('a[href^="/"]')) setMenu(false);
});

document.getElementById('logout').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  if (OUTBOX) {
    // A shared handheld: scans not yet sent stay, under this person, for their next
    // log-in on this device; say so before leaving.
    if (isOnline()) await syncNow().catch(() => {});
    const { pending } = await outboxCounts();
    if (pending && !window.confirm(t('nav.logout_pending', { n: pending }))) return;
  }
  button.disabled = true;
  button.textContent = t('nav.logging_out');
  try {
    await api('/api/auth/logout', { method: 'POST' });
    if (OUTBOX) await leaveUser();
    // A shared handheld: the next person must not see this one's saved data.
    await forgetUserData();
    location.replace('/login');
  } catch (error) {
    toast(error instanceof NetworkError ? t('err.offline_action')
      : t('err.server', { status: error.status || '?' }));
    button.disabled = false;
    button.textContent = t('nav.logout');
  }
});

// Back online: fetch fresh data instead of showing the saved copy.
function refreshShown() {
  const controller = router.controller(router.current());
  if (controller && controller.refresh) controller.refresh();
}
onNetworkChange((online) => {
  if (online) refreshShown();
});

// Realtime hints (the API stays the truth). Same origin, session cookie.
const socket = io({ path: '/socket.io' });
socket.on('connect', () => {
  if (!isOnline()) refreshShown();
});
socket.on('stock.changed', (payload) => router.each('onStockChanged', payload));
socket.on('order.updated', (payload) => router.each('onOrderUpdated', payload));
// Floor hints: pull sooner (the pull is what makes the device right).
if (FLOOR) {
  for (const name of ['task.assigned', 'task.changed', 'sync.conflict', 'stock.changed']) {
    socket.on(name, () => syncNow());
  }
}
// For the browser tests (and anyone curious): the socket has joined its rooms.
socket.on('session.ready', () => { document.documentElement.dataset.live = '1'; });
socket.on('disconnect', () => { delete document.documentElement.dataset.live; });
