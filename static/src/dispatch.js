// The dispatcher's day (/dispatch, admins): for a warehouse and a day, the own vans'
// routes (GET /api/routes), planned again by the solver on "Plan" (POST
// /api/warehouses/<id>/routes/plan: drafts are replaced, routes already planned or out
// are kept). Each route is a card: van, crew, driver, status, load against capacity,
// its stops in order with arrival time, window and the two-person flag. A stop moves
// up, down or to another route (POST .../move; the move is kept and what it breaks
// comes back as warnings). A route is given to a driver, marked planned, sent out
// (PATCH /api/routes/<id>) and printed (its manifest PDF). Stops no route carries
// are listed with the solver's reason.
import { api, NetworkError } from './api.js';
import { t } from './i18n.js';
import { el, toast } from './format.js';

const EDITABLE = new Set(['draft', 'planned']);
const NEXT = { draft: 'planned', planned: 'dispatched' };

function errorText(error) {
  if (error instanceof NetworkError) return t('err.offline_action');
  return (error && error.message) || t('err.server', { status: (error && error.status) || '?' });
}

// Today where the warehouse is (its vans' day), not where the dispatcher's phone is.
function today(timeZone) {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit',
      day: '2-digit' }).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

// Times on the warehouse's clock (set by the screen for the warehouse shown).
let shownZone;
function clock(iso) {
  if (!iso) return '';
  const options = { hour: '2-digit', minute: '2-digit', timeZone: shownZone };
  try {
    return new Date(iso).toLocaleTimeString(document.documentElement.lang || undefined, options);
  } catch {
    return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }
}

export function dispatchScreen(boot, root) {
  const main = root.querySelector('#dispatch');
  const form = main.querySelector('form[data-part="pick"]');
  const warehouse = form.elements.namedItem('warehouse_id');
  const date = form.elements.namedItem('date');
  const errorBox = main.querySelector('[data-part="error"]');
  const status = main.querySelector('[data-part="status"]');
  const warningsBox = main.querySelector('[data-part="warnings"]');
  const routesBox = main.querySelector('[data-part="routes"]');
  const unassignedBox = main.querySelector('[data-part="unassigned"]');
  let day = null; // the last answer: {routes, unassigned}
  let warnings = [];
  let busy = false;

  for (const w of boot.all_warehouses || boot.warehouses || []) {
    const o = el('option', '', `${w.code} · ${w.name}`);
    o.value = String(w.id);
    warehouse.append(o);
  }
  // The warehouse chosen last time on this device, else the first.
  const KEPT = 'haicang.dispatch.warehouse';
  try {
    const kept = localStorage.getItem(KEPT);
    if (kept && [...warehouse.options].some((o) => o.value === kept)) warehouse.value = kept;
  } catch { /* private mode: the first warehouse */ }
  const zoneOf = (id) => ((boot.all_warehouses || boot.warehouses || [])
    .find((w) => String(w.id) === String(id)) || {}).timezone || undefined;
  date.value = today(zoneOf(warehouse.value));

  function say(text, isError = false) {
    errorBox.textContent = isError ? text : '';
    errorBox.hidden = !isError;
    status.textContent = isError ? '' : (text || '');
  }

  // One change at a time: while one is on its way every control is disabled, so a
  // double tap does it once and a tap that comes too soon waits rather than vanishing.
  function hold(on) {
    main.querySelectorAll('button, select, input').forEach((control) => {
      if (on && !control.disabled) {
        control.disabled = true;
        control.dataset.held = '1';
      } else if (!on && control.dataset.held) {
        control.disabled = false;
        delete control.dataset.held;
      }
    });
  }

  async function run(label, work) {
    if (busy) return;
    busy = true;
    main.setAttribute('aria-busy', 'true');
    hold(true);
    say(label);
    try {
      await work();
      say('');
    } catch (error) {
      say(errorText(error), true);
    } finally {
      busy = false;
      hold(false);
      main.removeAttribute('aria-busy');
    }
  }

  const query = () => `warehouse_id=${encodeURIComponent(warehouse.value)}` +
    `&date=${encodeURIComponent(date.value)}`;

  // The latest view asked for wins: a warehouse or day picked while an earlier one
  // is still loading is never overwritten by the earlier answer.
  let asked = 0;
  async function load() {
    const ticket = ++asked;
    const zone = zoneOf(warehouse.value);
    const { data } = await api(`/api/routes?${query()}`);
    if (ticket !== asked) return;
    shownZone = zone;
    day = data;
    render();
  }

  async function view() {
    say(t('dispatch.loading'));
    try {
      await load();
      say('');
    } catch (error) {
      say(errorText(error), true);
    }
  }

  function plan() {
    return run(t('dispatch.planning'), async () => {
      shownZone = zoneOf(warehouse.value);
      const { data } = await api(`/api/warehouses/${warehouse.value}/routes/plan`,
        { method: 'POST', body: { date: date.value } });
      asked += 1; // a view asked for before the plan is older than it
      day = data;
      warnings = [];
      render();
      toast(t('dispatch.planned', { n: data.routes.length }));
    });
  }

  function move(route, stop, body) {
    return run(t('dispatch.moving'), async () => {
      const { data } = await api(`/api/routes/${route.id}/stops/${stop.id}/move`,
        { method: 'POST', body });
      warnings = data.warnings || [];
      await load();
    });
  }

  function patch(route, body) {
    return run(t('dispatch.saving'), async () => {
      await api(`/api/routes/${route.id}`, { method: 'PATCH', body });
      await load();
    });
  }

  function stopRow(route, stop, index, count) {
    const li = el('li', 'dispatch-stop');
    li.dataset.stopId = String(stop.id);
    const address = stop.address || {};
    const head = el('div', 'dispatch-stop-head');
    head.append(el('span', 'dispatch-seq', String(stop.sequence)),
      el('strong', '', address.name || stop.reference || `#${stop.id}`),
      el('span', 'dispatch-time', clock(stop.planned_arrival)));
    li.append(head);
    const where = [address.address1, address.city, address.zip].filter(Boolean).join(', ');
    if (where) li.append(el('p', 'muted', where));
    const facts = [];
    if (stop.window_start || stop.window_end) {
      facts.push(t('dispatch.window', { from: clock(stop.window_start), to: clock(stop.window_end) }));
    }
    if (stop.needs_two) facts.push(t('dispatch.two_person'));
    if (stop.status !== 'planned' && stop.status !== 'unassigned') {
      facts.push(t(`dispatch.stop_${stop.status}`));
    }
    if (facts.length) li.append(el('p', 'dispatch-facts', facts.join(' · ')));
    if (EDITABLE.has(route.status) && stop.status === 'planned') {
      const tools = el('div', 'dispatch-tools');
      const up = el('button', 'btn', t('dispatch.up'));
      up.type = 'button';
      up.dataset.part = 'up';
      up.disabled = index === 0;
      up.addEventListener('click', () => move(route, stop, { position: stop.sequence - 1 }));
      const down = el('button', 'btn', t('dispatch.down'));
      down.type = 'button';
      down.dataset.part = 'down';
      down.disabled = index === count - 1;
      down.addEventListener('click', () => move(route, stop, { position: stop.sequence + 1 }));
      tools.append(up, down);
      const others = day.routes.filter((r) => r.id !== route.id && EDITABLE.has(r.status));
      if (others.length) {
        const select = el('select', 'dispatch-to');
        select.dataset.part = 'move-to';
        select.setAttribute('aria-label', t('dispatch.move_to'));
        select.append(el('option', '', t('dispatch.move_to')));
        for (const other of others) {
          const o = el('option', '', other.vehicle ? other.vehicle.name : `#${other.id}`);
          o.value = String(other.id);
          select.append(o);
        }
        select.addEventListener('change', () => {
          if (select.value) move(route, stop, { to_route_id: Number(select.value) });
        });
        tools.append(select);
      }
      li.append(tools);
    }
    return li;
  }

  function driverSelect(route) {
    const select = el('select', 'dispatch-driver');
    select.dataset.part = 'driver';
    select.setAttribute('aria-label', t('dispatch.driver'));
    select.append(el('option', '', t('dispatch.no_driver')));
    for (const d of boot.drivers || []) {
      if (d.warehouse_ids.length && !d.warehouse_ids.includes(route.warehouse_id)) continue;
      const o = el('option', '', d.name);
      o.value = String(d.id);
      o.selected = d.id === route.driver_id;
      select.append(o);
    }
    select.disabled = route.status === 'done';
    select.addEventListener('change', () =>
      patch(route, { driver_id: select.value ? Number(select.value) : null }));
    return select;
  }

  function routeCard(route) {
    const card = el('article', 'card dispatch-route');
    card.dataset.routeId = String(route.id);
    card.dataset.status = route.status;
    const van = route.vehicle || {};
    const head = el('header', 'dispatch-route-head');
    head.append(el('h2', '', van.name || `#${route.id}`),
      el('span', `chip dispatch-status-${route.status}`, t(`dispatch.status_${route.status}`)));
    card.append(head);
    const kg = Math.round((route.load_weight_g || 0) / 1000);
    card.append(el('p', 'dispatch-load', t('dispatch.load', {
      kg, max_kg: van.capacity_weight_kg || 0, l: Math.round(route.load_volume_l || 0),
      max_l: van.capacity_volume_l || 0, crew: van.crew || 1 })));
    if (route.planned_start) {
      card.append(el('p', 'muted', t('dispatch.times', {
        from: clock(route.planned_start), to: clock(route.planned_end),
        km: Math.round((route.planned_distance_m || 0) / 1000) })));
    }
    const tools = el('div', 'dispatch-tools');
    tools.append(driverSelect(route));
    const next = NEXT[route.status];
    if (next) {
      const go = el('button', 'btn btn-primary', t(`dispatch.to_${next}`));
      go.type = 'button';
      go.dataset.part = 'advance';
      go.addEventListener('click', () => patch(route, { status: next }));
      tools.append(go);
    }
    const pdf = el('a', 'btn', t('dispatch.manifest'));
    pdf.href = `/api/routes/${route.id}/manifest.pdf`;
    pdf.target = '_blank';
    pdf.rel = 'noopener';
    pdf.dataset.part = 'manifest';
    tools.append(pdf);
    card.append(tools);
    const stops = route.stops || [];
    const list = el('ol', 'dispatch-stops');
    stops.forEach((stop, i) => list.append(stopRow(route, stop, i, stops.length)));
    if (!stops.length) list.append(el('li', 'muted', t('dispatch.empty_route')));
    card.append(list);
    return card;
  }

  function render() {
    warningsBox.replaceChildren(...warnings.map((w) => el('li', 'form-error', w.message)));
    routesBox.replaceChildren();
    unassignedBox.replaceChildren();
    if (!day) return;
    if (!day.routes.length) routesBox.append(el('p', 'muted', t('dispatch.no_routes')));
    for (const route of day.routes) routesBox.append(routeCard(route));
    if (day.unassigned && day.unassigned.length) {
      unassignedBox.append(el('h2', '', t('dispatch.unassigned', { n: day.unassigned.length })));
      const list = el('ul', 'dispatch-stops');
      for (const stop of day.unassigned) {
        const li = el('li', 'dispatch-stop');
        li.dataset.stopId = String(stop.id);
        li.append(el('strong', '', (stop.address && stop.address.name) || stop.reference || ''));
        if (stop.drop_reason) li.append(el('p', 'muted', stop.drop_reason));
        list.append(li);
      }
      unassignedBox.append(list);
    }
  }

  main.querySelector('[data-part="load"]').addEventListener('click', view);
  main.querySelector('[data-part="plan"]').addEventListener('click', plan);
  warehouse.addEventListener('change', () => {
    try { localStorage.setItem(KEPT, warehouse.value); } catch { /* not kept */ }
    date.value = today(zoneOf(warehouse.value));
    view();
  });
  date.addEventListener('change', view);

  return {
    show(params, query, { first } = {}) {
      if (first) view();
    },
    rerender: render,
  };
}
