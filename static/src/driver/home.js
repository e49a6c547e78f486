// The driver's home: today's route in driving order, from the copy kept on the
// phone (driver/store.js), so it opens with no network; the next stop large, with
// a call button and the address handed to the phone's maps app; and the two ways a
// stop ends (driver/forms.js): delivered with a proof, or a failed attempt.
// Each stop says where its report stands: queued (on the phone), sent, confirmed.
import { NetworkError } from '../api.js';
import { t } from '../i18n.js';
import { dateTime, el } from '../format.js';
import { isOnline, onNetworkChange } from '../net.js';
import { onOutboxChange } from '../outbox.js';
import { syncNow } from '../sync.js';
import { proofForms } from './forms.js';
import { fetchRoutes, savedRoutes, stopStates, stopsOf, uploadFiles } from './store.js';

const TIMER_MS = 20_000;

export function addressLines(address = {}) {
  const street = [address.address1, address.address2].filter(Boolean).join(', ');
  const town = [address.city, [address.state, address.zip].filter(Boolean).join(' ')]
    .filter(Boolean).join(', ');
  return [address.company, street, town].filter(Boolean);
}

/** The address for the phone's maps app: Apple Maps on iPhones, geo: elsewhere. */
export function mapsLink(stop) {
  const text = addressLines(stop.address).join(', ');
  const q = encodeURIComponent(text || `${stop.latitude},${stop.longitude}`);
  if (/iPhone|iPad|iPod/.test(navigator.userAgent)) {
    return `maps://?q=${q}&ll=${stop.latitude},${stop.longitude}`;
  }
  return `geo:${stop.latitude},${stop.longitude}?q=${q}`;
}

function time(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleTimeString(document.documentElement.lang || undefined,
    { hour: 'numeric', minute: '2-digit' });
}

function stateWord(info) {
  if (!info || !info.state) return '';
  const outcome = t(info.outcome === 'delivered' ? 'driver.outcome.delivered' : 'driver.outcome.failed');
  return `${outcome} · ${t(`driver.state.${info.state}`)}`;
}

export function driverHome(boot, root) {
  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  const user = boot.id;
  let saved = null;
  let stops = [];
  let states = {};
  let chosen = null; // a stop tapped in the list; else the next one to serve

  const forms = proofForms(boot, root, {
    onDone() { chosen = null; refreshStates().then(render); kick(); },
    onClose() { render(); },
  });

  const isDone = (stop) => Boolean((states[stop.id] && states[stop.id].state)
    || ['delivered', 'failed', 'skipped'].includes(stop.status));

  function current() {
    return stops.find((s) => s.id === chosen) || stops.find((s) => !isDone(s)) || null;
  }

  function renderStop(stop) {
    const card = part('stop');
    card.hidden = !stop;
    if (!stop) return;
    const info = states[stop.id];
    card.dataset.stopId = String(stop.id);
    part('stop-kicker').textContent = t(stop.id === (stops.find((s) => !isDone(s)) || {}).id
      ? 'driver.next_stop' : 'driver.stop_n', { n: stop.sequence });
    const state = part('stop-state');
    state.textContent = stateWord(info);
    state.dataset.state = (info && info.state) || '';
    part('stop-name').textContent = (stop.address && stop.address.name) || stop.reference;
    part('stop-address').replaceChildren(...addressLines(stop.address).flatMap((line, i) => (
      i ? [document.createElement('br'), line] : [line])));
    part('stop-two').hidden = !stop.needs_two;
    const window = stop.window_start && stop.window_end
      ? t('driver.window', { from: time(stop.window_start), to: time(stop.window_end) }) : '';
    const eta = stop.planned_arrival ? t('driver.eta', { at: time(stop.planned_arrival) }) : '';
    part('stop-window').textContent = [eta, window].filter(Boolean).join(' · ');
    const notes = part('stop-notes');
    notes.hidden = !stop.notes;
    notes.textContent = stop.notes || '';
    part('stop-items').replaceChildren(...(stop.items || []).map((item) => el('li', 'stop-item',
      item.name ? `${item.quantity || 1} × ${item.name}${item.sku ? ` (${item.sku})` : ''}`
        : t('driver.parcel', { n: item.parcel || 1 }))));
    const phone = (stop.address && stop.address.phone) || '';
    const call = part('call');
    call.hidden = !phone;
    call.href = phone ? `tel:${phone.replace(/[^\d+]/g, '')}` : '#';
    part('maps').href = mapsLink(stop);
    part('stop-actions').hidden = isDone(stop);
  }

  function renderList() {
    const list = part('stops');
    list.replaceChildren(...stops.map((stop) => {
      const li = el('li', 'stop-row');
      li.dataset.stopId = String(stop.id);
      const info = states[stop.id];
      li.dataset.state = (info && info.state) || '';
      const button = el('button', 'stop-pick');
      button.type = 'button';
      button.append(el('span', 'stop-seq', String(stop.sequence)));
      const main = el('span', 'stop-main');
      main.append(el('span', 'stop-row-name', (stop.address && stop.address.name) || stop.reference));
      main.append(el('span', 'stop-row-where muted', [stop.address && stop.address.address1,
        stop.address && stop.address.city].filter(Boolean).join(', ')));
      button.append(main);
      const badge = el('span', 'stop-state', stateWord(info) || (stop.planned_arrival ? time(stop.planned_arrival) : ''));
      badge.dataset.part = 'row-state';
      badge.dataset.state = (info && info.state) || '';
      button.append(badge);
      if (current() && current().id === stop.id) button.setAttribute('aria-current', 'true');
      button.addEventListener('click', () => {
        chosen = stop.id;
        render();
        part('stop').scrollIntoView({ block: 'start' });
      });
      li.append(button);
      return li;
    }));
    part('stops-heading').hidden = stops.length === 0;
    part('empty').hidden = stops.length > 0;
  }

  function renderNote() {
    const note = part('route-note');
    if (!saved) {
      note.textContent = '';
      return;
    }
    const done = stops.filter(isDone).length;
    note.textContent = [t('driver.progress', { done, n: stops.length }),
      t('driver.saved_at', { at: dateTime(saved.fetched_at) })].join(' · ');
  }

  function render() {
    if (forms.isOpen()) return;
    part('route-view').hidden = false;
    renderNote();
    renderStop(current());
    renderList();
  }

  async function refreshStates() {
    states = await stopStates(user, stops);
  }

  async function load() {
    saved = await savedRoutes(user);
    stops = stopsOf(saved);
    await refreshStates();
    render();
  }

  async function fetchFresh() {
    try {
      saved = await fetchRoutes(user);
      stops = stopsOf(saved);
      await refreshStates();
      render();
    } catch (error) {
      if (!(error instanceof NetworkError)) console.error('driver routes', error);
    }
  }

  let busy = null;
  /** Files up, outbox pushed, the route fetched again: the states follow. */
  function kick() {
    if (busy) return busy;
    busy = (async () => {
      try {
        await uploadFiles(user);
      } catch (error) {
        if (!(error instanceof NetworkError)) console.error('upload', error);
      }
      await syncNow().catch(() => {});
      await fetchFresh();
    })().finally(() => { busy = null; });
    return busy;
  }

  part('go-confirm').addEventListener('click', () => {
    const stop = current();
    if (stop) forms.open('confirm', stop, part('route-view'));
  });
  part('go-fail').addEventListener('click', () => {
    const stop = current();
    if (stop) forms.open('fail', stop, part('route-view'));
  });

  onOutboxChange(() => { refreshStates().then(render); });
  onNetworkChange((online) => { if (online) kick(); });
  window.addEventListener('online', () => kick());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && isOnline()) kick();
  });
  setInterval(() => { if (navigator.onLine) kick(); }, TIMER_MS);

  load().then(() => kick()).catch((error) => console.error('driver home', error));

  return {
    show() { if (isOnline()) kick(); },
    rerender() { render(); forms.rerender(); },
    refresh: () => kick(),
  };
}
