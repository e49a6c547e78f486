// The app shell after log-in: top bar (who, online/offline, language, log out) and
// the home of the user's role. The server painted all of it already; this makes it
// live: data from the API, realtime updates, offline support.
import { io } from 'socket.io-client';
import { api, NetworkError } from './api.js';
import { adminHome, driverHome, pickerHome, sellerHome } from './homes.js';
import { applyTranslations, pickLocale, setLocale, t } from './i18n.js';
import { bindLanguageSwitch } from './langswitch.js';
import { isOnline, onNetworkChange, watchNetwork } from './net.js';
import { forgetUserData, registerServiceWorker } from './pwa.js';

const boot = JSON.parse(document.getElementById('boot').textContent);
const HOMES = { admin: adminHome, seller: sellerHome, picker: pickerHome, driver: driverHome };

setLocale(pickLocale(boot.locale));
applyTranslations();
watchNetwork();
registerServiceWorker();

function toast(message) {
  const box = document.getElementById('toast');
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

const home = (HOMES[boot.role] || driverHome)(boot);

bindLanguageSwitch({
  rerender: () => home.rerender && home.rerender(),
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

document.getElementById('logout').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  button.textContent = t('nav.logging_out');
  try {
    await api('/api/auth/logout', { method: 'POST' });
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
onNetworkChange((online) => {
  if (online && home.refresh) home.refresh();
});

// Realtime hints (the API stays the truth). Same origin, session cookie.
const socket = io({ path: '/socket.io' });
socket.on('connect', () => {
  if (!isOnline() && home.refresh) home.refresh();
});
socket.on('stock.changed', (payload) => home.onStockChanged && home.onStockChanged(payload));
