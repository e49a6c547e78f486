// When the outbox goes to the server, and the badges that say how it stands.
// Flush on app start, on the `online` event, when the page becomes visible, on a
// timer, soon after each scan while online, and by Background Sync where the
// browser has it (the service worker then pushes with the page closed). After a
// push that went through: pull, so the screens render from fresh local data.
import { api, NetworkError } from './api.js';
import { t } from './i18n.js';
import { isOnline, onNetworkChange, setOnline } from './net.js';
import {
  enqueue, flush, localGet, localPut, localRows, notify, onOutboxChange, outboxCounts, pull, answeredMark,
  useUser,
} from './outbox.js';

const TIMER_MS = 20_000;

/** The transport for outbox.js: the API with its CSRF handling; never a saved copy. */
export const transport = {
  async post(path, body) {
    return (await api(path, { method: 'POST', body })).data;
  },
  async get(path) {
    const answer = await api(path);
    if (answer.fromCache) throw new NetworkError('saved copy');
    return answer.data;
  },
};

let running = null;
let again = false;

/** Push, then pull. Safe to call often: calls while one runs fold into one more. */
export function syncNow() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      const pushed = await flush(transport).catch((error) => ({ ok: false, error }));
      if (!pushed.ok) break;
      try {
        await pull(transport);
        await refreshOpenTasks();
      } catch (error) {
        if (!(error instanceof NetworkError)) console.error('pull failed', error);
        break;
      }
    } while (again);
  })().finally(() => { running = null; renderSyncBadges(); });
  return running;
}

let soon = null;
function syncSoon(ms = 250) {
  clearTimeout(soon);
  soon = setTimeout(syncNow, ms);
}

/** A pick task's lines, fetched and kept on the device with the answered mark. */
export async function fetchTaskDetail(id) {
  const mark = await answeredMark();
  const detail = (await transport.get(`/api/tasks/${id}`));
  const row = { ...detail, mark, fetched_at: new Date().toISOString() };
  await localPut('task_lines', row);
  return row;
}

/** A pick task the server just answered with (a released wave): its lines kept on
 * the device, and the task in the task list, before the next pull brings them. */
export async function keepTaskDetail(detail) {
  const mark = await answeredMark();
  const row = { ...detail, mark, fetched_at: new Date().toISOString() };
  await localPut('task_lines', row);
  const { lines, ...task } = detail;
  await localPut('tasks', task);
  notify('data');
  return row;
}

/** Keep the lines of every open pick task on the device, for the aisle with no Wi-Fi. */
async function refreshOpenTasks() {
  const tasks = (await localRows('tasks')).filter((task) => task.kind === 'pick'
    && (task.status === 'open' || task.status === 'claimed'));
  await Promise.all(tasks.map(async (task) => {
    const saved = await localGet('task_lines', task.id);
    if (!saved || saved.status !== task.status || saved.stale) await fetchTaskDetail(task.id);
  }));
  notify('data');
}

function requestBackgroundSync() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.ready
    .then((registration) => registration.sync && registration.sync.register('haicang-outbox'))
    .catch(() => {}); // not in this browser (Safari, Firefox), or not allowed
}

/** Queue a floor mutation: on the device at once, to the server as soon as it can. */
export async function queue(name, args, extra) {
  const row = await enqueue(name, args, extra);
  requestBackgroundSync();
  if (isOnline()) syncSoon();
  return row;
}

export async function renderSyncBadges() {
  const pendingEl = document.getElementById('sync-pending');
  const attentionEl = document.getElementById('sync-attention');
  if (!pendingEl) return;
  const { pending, attention } = await outboxCounts();
  pendingEl.dataset.count = String(pending);
  pendingEl.textContent = pending ? t('sync.pending', { n: pending }) : t('sync.all_synced');
  if (attentionEl) {
    attentionEl.dataset.count = String(attention);
    attentionEl.hidden = attention === 0;
    attentionEl.textContent = t('sync.attention', { n: attention });
  }
}

export function startSync(userId) {
  useUser(userId);
  onOutboxChange(() => renderSyncBadges());
  window.addEventListener('online', () => { setOnline(true); syncNow(); });
  onNetworkChange((online) => { if (online) syncSoon(0); });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') syncNow();
  });
  setInterval(() => { if (navigator.onLine) syncNow(); }, TIMER_MS);
  if ('serviceWorker' in navigator) {
    // The worker pushed by Background Sync: show what it got.
    navigator.serviceWorker.addEventListener('message', (event) => {
      if (event.data && event.data.type === 'haicang-outbox') notify(event.data.kind || 'outbox');
    });
  }
  renderSyncBadges();
  syncNow();
  return { syncSoon };
}
