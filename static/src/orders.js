// The seller's (and admin's) order screens: the list at /orders and one order at
// /orders/<id>. The server painted the first list already (templates/orders/); this
// keeps both screens live: data from the API (the service worker's saved copy when
// offline), order.updated events, and the actions with a confirm step.
import { api, ApiError, NetworkError } from './api.js';
import { t } from './i18n.js';
import {
  channelBadge, dateTime, day, debounce, el, money, number, savedDataNote, statusBadge,
  statusName, tn, toast,
} from './format.js';

const PAGE = 20;
// The statuses that need a person come first (UX.md); the same list as the server's.
const EXCEPTIONS = ['backordered', 'exception', 'held'];
const STATUSES = ['held', 'received', 'backordered', 'allocated', 'released', 'picked',
  'packed', 'shipped', 'delivered', 'cancelled', 'exception', 'fulfilled_by_channel'];
const CANCELLABLE = new Set(['held', 'received', 'backordered', 'allocated', 'released',
  'exception', 'fulfilled_by_channel']);
const REALLOCATABLE = new Set(['received', 'backordered']);
const FILTER_KEYS = ['status', 'channel', 'warehouse_id', 'from', 'to', 'q'];

function errorText(error) {
  if (error instanceof NetworkError) return t('err.network');
  return t('err.server', { status: error.status || '?' });
}

/** The filters in a page URL's query, only the known keys, in a fixed order. */
function readFilters(query) {
  const filters = {};
  for (const key of FILTER_KEYS) {
    const value = (query.get(key) || '').trim();
    if (value) filters[key] = value;
  }
  return filters;
}

function pageUrl(filters) {
  const query = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) query.set(key, filters[key]);
  const text = query.toString();
  return '/orders' + (text ? `?${text}` : '');
}

/** The phone's own midnight of a YYYY-MM-DD day, as an ISO instant; `next`: the day after. */
function midnight(dayText, next = false) {
  const [y, m, d] = dayText.split('-').map(Number);
  if (!y || !m || !d) return null;
  return new Date(y, m - 1, d + (next ? 1 : 0)).toISOString();
}

function apiQuery(filters, { status = true } = {}) {
  const query = new URLSearchParams();
  if (status && filters.status) query.set('status', filters.status);
  if (filters.channel) query.set('channel', filters.channel);
  if (filters.warehouse_id) query.set('warehouse_id', filters.warehouse_id);
  if (filters.q) query.set('q', filters.q);
  const from = filters.from && midnight(filters.from);
  const to = filters.to && midnight(filters.to, true);
  if (from) query.set('placed_from', from);
  if (to) query.set('placed_to', to);
  return query;
}

/** Statuses shown as chips: exceptions first, then the most orders first. */
export function chipOrder(counts, selected) {
  const rest = STATUSES.filter((s) => !EXCEPTIONS.includes(s))
    .sort((a, b) => (counts[b] || 0) - (counts[a] || 0) || STATUSES.indexOf(a) - STATUSES.indexOf(b));
  return [...EXCEPTIONS, ...rest].filter((s) => (counts[s] || 0) > 0 || s === selected);
}

function whereText(order) {
  const city = [order.ship_to_city, order.ship_to_state].filter(Boolean).join(', ');
  return city || order.ship_to_zip || '';
}

/** One order card; the same markup as templates/orders/_card.html. */
export function orderCard(order, boot) {
  const li = el('li', 'order-card');
  li.dataset.id = order.id;
  li.dataset.status = order.status;
  const link = el('a', 'order-link');
  link.href = `/orders/${order.id}`;

  const top = el('span', 'order-row');
  top.append(el('span', 'order-ext', order.external_id), statusBadge(order.status));

  const meta = el('span', 'order-row order-meta');
  const left = el('span', 'order-left');
  left.append(channelBadge(order.channel));
  const seller = boot.sellers && boot.sellers[order.seller_id];
  if (seller) left.append(el('span', 'order-seller', seller));
  left.append(el('span', 'order-where', whereText(order)));
  const when = el('time', 'order-when', day(order.placed_at));
  when.dateTime = order.placed_at || '';
  meta.append(left, when);

  const foot = el('span', 'order-row order-foot');
  foot.append(el('span', 'order-units', tn('orders.units', order.units)));
  const wh = el('span', 'order-wh', (order.warehouses || []).join(' · ') || t('orders.no_warehouse'));
  if (!(order.warehouses || []).length) wh.classList.add('muted');
  foot.append(wh, el('span', 'order-total', money(order.total_cents, order.currency)));

  link.append(top, meta, foot);
  li.append(link);
  return li;
}

// -- the list ------------------------------------------------------------------------

export function ordersScreen(boot, root) {
  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  const form = part('filters');
  const search = form.elements.q;
  const chips = part('chips');
  const list = part('list');
  const empty = part('empty');
  const status = part('status');
  const more = part('more');
  const news = part('news');
  const filterCount = part('filter-count');

  let filters = null; // what the list on screen was loaded for
  let items = [];
  let cursor = null;
  let counts = null;
  let loaded = false;
  let fromCache = false; // the list on screen is the saved copy (offline)
  let seq = 0; // answers to an older request are dropped

  function renderChips() {
    if (!counts) return;
    const total = STATUSES.reduce((n, s) => n + (counts[s] || 0), 0);
    const chip = (statusKey, label, count) => {
      const a = el('a', 'chip');
      const next = { ...filters };
      if (statusKey) next.status = statusKey; else delete next.status;
      a.href = pageUrl(next);
      a.dataset.status = statusKey;
      if (statusKey) a.classList.add(`chip-${statusKey}`);
      if (EXCEPTIONS.includes(statusKey)) a.classList.add('chip-alert');
      if ((filters.status || '') === statusKey) a.setAttribute('aria-current', 'true');
      a.append(el('span', 'chip-count', number(count)), el('span', 'chip-label', label));
      return a;
    };
    chips.replaceChildren(chip('', t('orders.all'), total),
      ...chipOrder(counts, filters.status).map((s) => chip(s, statusName(s), counts[s] || 0)));
  }

  function renderFilters() {
    if (document.activeElement !== search) search.value = filters.q || '';
    form.elements.status.value = filters.status || '';
    form.elements.channel.value = filters.channel || '';
    form.elements.warehouse_id.value = filters.warehouse_id || '';
    form.elements.from.value = filters.from || '';
    form.elements.to.value = filters.to || '';
    const n = ['channel', 'warehouse_id', 'from', 'to'].filter((k) => filters[k]).length;
    filterCount.textContent = n ? `(${number(n)})` : '';
    if (n) part('more-filters').open = true;
  }

  function render() {
    renderFilters();
    renderChips();
    list.replaceChildren(...items.map((o) => orderCard(o, boot)));
    empty.hidden = !loaded || items.length > 0;
    more.hidden = !cursor;
  }

  async function loadCounts(requestSeq) {
    try {
      const { data } = await api(`/api/orders/counts?${apiQuery(filters, { status: false })}`);
      if (requestSeq !== seq) return;
      counts = data.counts;
      renderChips();
    } catch (error) {
      if (!(error instanceof NetworkError)) console.error(error);
    }
  }

  async function load({ append = false } = {}) {
    const mine = append ? seq : ++seq;
    const query = apiQuery(filters);
    query.set('limit', String(PAGE));
    if (append && cursor) query.set('after', cursor);
    if (!append) {
      news.hidden = true;
      loadCounts(mine);
    }
    // "Loading" only where there is nothing to look at meanwhile.
    status.hidden = !append && list.children.length > 0;
    status.textContent = t('common.loading');
    more.disabled = true;
    try {
      const answer = await api(`/api/orders?${query}`);
      const { data } = answer;
      if (mine !== seq) return;
      list.classList.remove('stale');
      items = append ? items.concat(data.items) : data.items;
      cursor = data.next_cursor;
      loaded = true;
      fromCache = answer.fromCache;
      savedDataNote(fromCache);
      status.hidden = true;
      render();
    } catch (error) {
      if (mine !== seq) return;
      list.classList.remove('stale');
      status.hidden = false;
      if (error instanceof NetworkError) {
        status.textContent = t('orders.no_saved');
        savedDataNote(false);
      } else if (error instanceof ApiError && error.status === 422) {
        status.textContent = `${t('orders.bad_filter')} ${Object.keys(error.fields).join(', ')}`;
      } else {
        status.textContent = errorText(error);
      }
    } finally {
      more.disabled = false;
    }
  }

  function apply(next, { replace = false } = {}) {
    boot.router.navigate(pageUrl(next), { replace });
  }

  function formFilters() {
    const next = {};
    for (const key of FILTER_KEYS) {
      const field = form.elements[key];
      const value = field ? String(field.value || '').trim() : '';
      if (value) next[key] = value;
    }
    return next;
  }

  // Typing searches as you go (the URL follows, without a history entry per letter);
  // the selects and dates apply at once; the Apply button is for no-script only.
  const typed = debounce(() => apply(formFilters(), { replace: true }), 350);
  search.addEventListener('input', typed);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    typed.cancel();
    apply(formFilters(), { replace: (filters.q || '') !== (search.value.trim()) });
    search.blur();
  });
  for (const name of ['channel', 'warehouse_id', 'from', 'to']) {
    form.elements[name].addEventListener('change', () => apply(formFilters()));
  }
  more.addEventListener('click', () => load({ append: true }));
  news.addEventListener('click', () => {
    window.scrollTo(0, 0);
    load();
  });

  /** An order changed: its card, if shown, is fetched and redrawn; the counts too. */
  const recount = debounce(() => loadCounts(seq), 600);
  async function onOrderUpdated(event) {
    if (!filters) return;
    recount();
    const index = items.findIndex((o) => o.id === event.order_id);
    if (index < 0) {
      news.hidden = false;
      return;
    }
    let fresh;
    try {
      ({ data: fresh } = await api(`/api/orders/${event.order_id}`));
    } catch {
      fresh = { ...items[index], status: event.status };
    }
    const at = items.findIndex((o) => o.id === event.order_id);
    if (at < 0) return;
    items[at] = { ...items[at], ...pick(fresh) };
    const node = list.querySelector(`.order-card[data-id="${event.order_id}"]`);
    if (node) {
      const card = orderCard(items[at], boot);
      card.classList.add('flash-ok');
      node.replaceWith(card);
    }
  }

  return {
    show(params, query) {
      const next = readFilters(query);
      const same = filters && JSON.stringify(next) === JSON.stringify(filters);
      filters = next;
      if (same && loaded) {
        render();
        savedDataNote(fromCache);
        return;
      }
      // The cards on screen (the server's, or the last filter's) stay, dimmed, until
      // the API answers for the new filters.
      if (loaded) list.classList.add('stale');
      renderFilters();
      renderChips();
      load();
    },
    rerender: () => { if (loaded) render(); },
    refresh: () => { if (filters) load(); },
    onOrderUpdated,
  };
}

function pick(order) {
  const out = {};
  for (const key of ['status', 'channel', 'external_id', 'placed_at', 'ship_to_name',
    'ship_to_city', 'ship_to_state', 'ship_to_zip', 'total_cents', 'currency', 'units',
    'warehouses', 'seller_id']) {
    if (key in order) out[key] = order[key];
  }
  return out;
}

// -- one order -----------------------------------------------------------------------

function section(title, className) {
  const box = el('section', `panel ${className || ''}`.trim());
  box.append(el('h2', 'panel-title', title));
  return box;
}

function dl(pairs) {
  const list = el('dl', 'facts');
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === '') continue;
    const row = el('div', 'fact');
    row.append(el('dt', '', label), el('dd', '', value));
    list.append(row);
  }
  return list;
}

function fieldBlock(id, label, input) {
  const box = el('div', 'field');
  const lab = el('label', '', label);
  lab.htmlFor = id;
  input.id = id;
  const error = el('p', 'field-error');
  error.id = `${id}-error`;
  error.hidden = true;
  error.setAttribute('role', 'alert');
  input.setAttribute('aria-describedby', error.id);
  box.append(lab, input, error);
  return box;
}

function showFieldError(input, message) {
  const error = document.getElementById(`${input.id}-error`);
  if (message) {
    input.setAttribute('aria-invalid', 'true');
    error.textContent = message;
    error.hidden = false;
  } else {
    input.removeAttribute('aria-invalid');
    error.textContent = '';
    error.hidden = true;
  }
}

/** The API's {fields} next to their inputs (translated where we know the field);
 *  whatever has no input goes to the form's own error line. */
function showApiErrors(error, inputs, formError, context = {}) {
  for (const input of Object.values(inputs)) showFieldError(input, '');
  formError.hidden = true;
  if (!(error instanceof ApiError)) {
    formError.textContent = error instanceof NetworkError ? t('err.offline_action') : errorText(error);
    formError.hidden = false;
    return;
  }
  const rest = [];
  for (const [field, messages] of Object.entries(error.fields || {})) {
    const input = inputs[field];
    let text = (messages || []).join(' ');
    if (field === 'quantity') {
      // The server knows the open units now (someone may have cancelled some
      // meanwhile): its max_quantity, said in the user's words.
      const told = Number(error.body.max_quantity);
      const max = Number.isInteger(told) && told > 0 ? told : context.max;
      if (max) text = t('order.err_quantity', { max: number(max) });
    }
    if (input) showFieldError(input, text);
    else rest.push(text);
  }
  if (rest.length || !Object.keys(error.fields || {}).length) {
    formError.textContent = rest.join(' ') || error.message || errorText(error);
    formError.hidden = false;
  }
  const first = Object.values(inputs).find((i) => i.getAttribute('aria-invalid') === 'true');
  if (first) first.focus();
}

export function orderScreen(boot, root) {
  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  const body = part('body');
  const status = part('status');
  const bar = part('actions');
  let id = null;
  let order = null;
  let fromCache = false;
  let openForm = null; // 'cancel' or a line id while its confirm form is open
  let stale = false; // changed elsewhere while a form was open
  let seq = 0;

  function header(o) {
    const box = el('header', 'order-head');
    const title = el('h1', 'order-title', o.external_id);
    title.id = 'order-title';
    const badges = el('p', 'order-badges');
    badges.append(statusBadge(o.status), channelBadge(o.channel));
    const seller = boot.sellers && boot.sellers[o.seller_id];
    if (seller) badges.append(el('span', 'order-seller', seller));
    box.append(title, badges, dl([
      [t('order.placed'), dateTime(o.placed_at)],
      [t('order.ship_by'), dateTime(o.ship_by)],
      [t('order.promised_by'), dateTime(o.promised_by)],
      [t('order.total'), money(o.total_cents, o.currency)],
    ]));
    return box;
  }

  function shipTo(o) {
    const box = section(t('order.ship_to'), 'ship-to');
    const to = o.ship_to || {};
    const lines = [to.name, to.address1, to.address2,
      [[to.city, to.state].filter(Boolean).join(', '), to.zip].filter(Boolean).join(' '),
      to.phone].filter(Boolean);
    const address = el('address', 'address');
    lines.forEach((line, i) => {
      if (i) address.append(el('br'));
      address.append(line);
    });
    box.append(address);
    return box;
  }

  function lineForm(o, line) {
    const form = el('form', 'line-cancel confirm');
    form.noValidate = true;
    const max = line.open_quantity;
    const qty = el('input');
    qty.type = 'number';
    qty.inputMode = 'numeric';
    qty.min = '1';
    qty.max = String(max);
    qty.step = '1';
    qty.value = '1';
    qty.name = 'quantity';
    const reason = el('input');
    reason.type = 'text';
    reason.name = 'reason';
    reason.maxLength = 500;
    reason.autocomplete = 'off';
    const formError = el('p', 'form-error');
    formError.hidden = true;
    formError.setAttribute('role', 'alert');
    const go = el('button', 'btn btn-danger');
    go.type = 'submit';
    const label = () => {
      const n = Number(qty.value);
      go.textContent = Number.isInteger(n) && n > 0 ? tn('order.cancel_units_n', n) : t('order.cancel_units');
    };
    label();
    qty.addEventListener('input', label);
    const keep = el('button', 'btn', t('order.back_action'));
    keep.type = 'button';
    keep.addEventListener('click', () => closeForm());
    const row = el('div', 'action-row');
    row.append(keep, go);
    form.append(
      fieldBlock(`line-${line.id}-qty`, t('order.units_to_cancel', { max: number(max) }), qty),
      fieldBlock(`line-${line.id}-reason`, t('order.reason'), reason),
      formError, row);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const n = Number(qty.value);
      if (!Number.isInteger(n) || n < 1 || n > max) {
        showFieldError(qty, t('order.err_quantity', { max: number(max) }));
        qty.focus();
        return;
      }
      showFieldError(qty, '');
      go.disabled = true;
      keep.disabled = true;
      go.textContent = t('order.busy');
      try {
        const { data } = await api(`/api/orders/${o.id}/lines/${line.id}/cancel`, {
          method: 'POST', body: { quantity: n, reason: reason.value.trim() },
        });
        openForm = null;
        order = data;
        render();
        toast(tn('order.units_cancelled', n, { sku: line.sku_code }));
      } catch (error) {
        go.disabled = false;
        keep.disabled = false;
        label();
        if (changedMeanwhile(error)) return;
        showApiErrors(error, { quantity: qty, reason }, formError, { max });
      }
    });
    return form;
  }

  function linesPanel(o) {
    const box = section(t('order.lines'), 'lines');
    const list = el('ul', 'line-list');
    const canCancel = CANCELLABLE.has(o.status);
    for (const line of o.lines || []) {
      const li = el('li', 'line');
      li.dataset.lineId = line.id;
      const head = el('div', 'line-head');
      const name = el('div', 'line-name');
      name.append(el('span', 'line-sku', line.sku_code));
      if (line.is_kit) name.append(el('span', 'tag', t('order.kit')));
      name.append(el('span', 'line-desc', line.sku_name));
      const qty = el('div', 'line-qty');
      qty.append(el('span', 'qty-big', number(line.open_quantity)),
        el('span', 'qty-small', t('order.each', { price: money(line.unit_price_cents, o.currency) })));
      head.append(name, qty);
      li.append(head);

      const where = el('div', 'line-where');
      for (const a of line.allocated || []) {
        where.append(el('span', 'alloc', t('order.alloc', { code: a.warehouse_code, n: number(a.quantity) })));
      }
      if (line.backordered) where.append(el('span', 'alloc alloc-back', tn('order.backordered_n', line.backordered)));
      if (line.quantity_cancelled) where.append(el('span', 'alloc alloc-cancelled', tn('order.cancelled_n', line.quantity_cancelled)));
      if (where.children.length) li.append(where);

      if (canCancel && line.open_quantity > 0) {
        if (openForm === line.id) {
          li.append(lineForm(o, line));
        } else {
          const button = el('button', 'btn btn-quiet-dark line-cancel-open', t('order.cancel_units'));
          button.type = 'button';
          button.addEventListener('click', () => {
            openForm = line.id;
            render();
            document.getElementById(`line-${line.id}-qty`)?.focus();
          });
          li.append(button);
        }
      }
      list.append(li);
    }
    box.append(list);
    return box;
  }

  function whyPanel(o) {
    const box = section(t('order.why'), 'why');
    box.id = 'why';
    const reason = o.allocation_reason;
    if (!reason) {
      box.append(el('p', 'muted', t('order.not_allocated')));
      return box;
    }
    const key = `order.strategy.${reason.strategy}`;
    const strategy = t(key);
    const head = el('p', 'why-strategy');
    head.append(el('strong', '', strategy === key ? reason.strategy : strategy));
    if ((reason.winners || []).length) {
      head.append(' · ', t('order.chosen', { codes: reason.winners.join(', ') }));
    }
    box.append(head);
    if (reason.why) {
      const why = el('p', 'why-text', reason.why);
      // The server renders it in this user's language (older reasons stay English).
      why.lang = reason.why_lang || 'en';
      box.append(why);
    }
    const candidates = reason.candidates || [];
    if (candidates.length) {
      const wrap = el('div', 'table-wrap');
      const table = el('table', 'cands');
      const caption = el('caption', 'sr-only', t('order.candidates'));
      const thead = el('thead');
      const hr = el('tr');
      for (const k of ['warehouse', 'cost', 'days', 'distance', 'all']) {
        const th = el('th', `c-${k}`, t(`order.cand.${k}`));
        th.scope = 'col';
        hr.append(th);
      }
      thead.append(hr);
      const tbody = el('tbody');
      const winners = new Set(reason.winners || []);
      for (const c of candidates) {
        const tr = el('tr');
        tr.dataset.code = c.code;
        const th = el('th', 'c-warehouse');
        th.scope = 'row';
        th.append(el('span', 'cand-code', c.code));
        if (winners.has(c.code)) {
          tr.classList.add('winner');
          th.append(el('span', 'cand-mark', t('order.chosen_mark')));
        }
        if (c.preferred) th.append(el('span', 'cand-note', t('order.preferred')));
        tr.append(th);
        if (c.excluded) {
          tr.classList.add('excluded');
          const known = /not allowed by the seller/i.test(c.excluded) ? t('order.excluded_rules') : c.excluded;
          const td = el('td', 'c-excluded', known);
          td.colSpan = 4;
          tr.append(td);
        } else {
          tr.append(
            el('td', 'c-cost', c.cost_cents === null || c.cost_cents === undefined ? '–' : money(c.cost_cents, o.currency)),
            el('td', 'c-days', c.transit_days === null || c.transit_days === undefined ? '–' : t('unit.days', { n: number(c.transit_days) })),
            el('td', 'c-distance', c.distance_mi === null || c.distance_mi === undefined ? '–' : t('unit.miles', { n: number(Math.round(c.distance_mi)) })));
          const all = el('td', `c-all ${c.can_fill_all ? 'yes' : 'no'}`);
          all.append(el('span', '', c.can_fill_all ? '✓' : '✗'));
          all.append(el('span', 'sr-only', c.can_fill_all ? t('order.yes') : t('order.no')));
          all.title = c.can_fill_all ? t('order.yes') : t('order.no');
          tr.append(all);
        }
        tbody.append(tr);
      }
      table.append(caption, thead, tbody);
      wrap.append(table);
      box.append(wrap);
    }
    if (reason.decided_at) box.append(el('p', 'muted small', t('order.decided', { when: dateTime(reason.decided_at) })));
    return box;
  }

  function shipmentsPanel(o) {
    if (!Array.isArray(o.shipments) || !o.shipments.length) return null;
    const box = section(t('order.shipments'), 'shipments');
    const list = el('ul', 'ship-list');
    for (const s of o.shipments) {
      const li = el('li', 'shipment');
      const head = el('div', 'order-row');
      head.append(el('span', 'ship-tracking', s.tracking_number || t('order.no_tracking')));
      if (s.status) {
        const key = `shipment_status.${s.status}`;
        head.append(el('span', `status ship-${s.status}`, t(key) === key ? s.status : t(key)));
      }
      li.append(head);
      const carrier = [s.carrier || s.carrier_name, s.service || s.service_name].filter(Boolean).join(' · ');
      li.append(dl([
        [t('order.carrier'), carrier],
        [t('order.cost'), s.cost_cents === null || s.cost_cents === undefined ? '' : money(s.cost_cents, o.currency)],
        [t('order.ship_date'), s.ship_date ? day(s.ship_date) : ''],
      ]));
      const label = el('a', 'btn btn-block', t('order.label'));
      label.href = `/api/shipments/${s.id}/label.pdf`;
      label.target = '_blank';
      label.rel = 'noopener';
      li.append(label);
      list.append(li);
    }
    box.append(list);
    return box;
  }

  function eventTitle(e) {
    if (e.to_status && e.from_status) {
      return `${statusName(e.from_status)} → ${statusName(e.to_status)}`;
    }
    if (e.to_status) return statusName(e.to_status);
    const key = `order.event.${e.kind}`;
    const text = t(key);
    return text === key ? e.kind : text;
  }

  function historyPanel(o) {
    const box = section(t('order.history'), 'history');
    const list = el('ol', 'timeline');
    for (const e of [...(o.events || [])].reverse()) {
      const li = el('li', 'event');
      const when = el('time', 'event-when', dateTime(e.created_at));
      when.dateTime = e.created_at || '';
      li.append(when, el('span', 'event-title', eventTitle(e)));
      const plain = e.from_status && e.message === `${e.from_status} -> ${e.to_status}`;
      if (e.message && !plain) {
        const msg = el('span', 'event-msg', e.message);
        msg.lang = e.message_lang || 'en'; // rendered by the server (old lines: English)
        li.append(msg);
      }
      list.append(li);
    }
    box.append(list);
    return box;
  }

  // -- the action bar: Re-allocate, Cancel order (with its confirm step) -----------

  function renderActions(o) {
    const canCancel = CANCELLABLE.has(o.status);
    const canAllocate = REALLOCATABLE.has(o.status);
    bar.replaceChildren();
    // While a line's own confirm form is open it is the one action on screen.
    bar.hidden = !(canCancel || canAllocate) || typeof openForm === 'number';
    if (bar.hidden) return;
    if (openForm === 'cancel') {
      const box = el('form', 'confirm');
      box.noValidate = true;
      box.setAttribute('aria-labelledby', 'cancel-title');
      const title = el('p', 'confirm-title', t('order.cancel_title', { id: o.external_id }));
      title.id = 'cancel-title';
      const reason = el('input');
      reason.type = 'text';
      reason.name = 'reason';
      reason.maxLength = 500;
      reason.autocomplete = 'off';
      const formError = el('p', 'form-error');
      formError.hidden = true;
      formError.setAttribute('role', 'alert');
      const keep = el('button', 'btn', t('order.keep'));
      keep.type = 'button';
      keep.dataset.act = 'keep';
      keep.addEventListener('click', () => closeForm());
      const go = el('button', 'btn btn-danger', t('order.cancel_confirm'));
      go.type = 'submit';
      go.dataset.act = 'confirm-cancel';
      const row = el('div', 'action-row');
      row.append(keep, go);
      box.append(title, el('p', 'muted', t('order.cancel_hint')),
        fieldBlock('cancel-reason', t('order.reason'), reason), formError, row);
      box.addEventListener('submit', async (event) => {
        event.preventDefault();
        go.disabled = true;
        keep.disabled = true;
        go.textContent = t('order.busy');
        try {
          const { data } = await api(`/api/orders/${o.id}/cancel`, {
            method: 'POST', body: { reason: reason.value.trim() },
          });
          openForm = null;
          order = data;
          render();
          toast(t('order.cancelled_toast', { id: data.external_id }));
        } catch (error) {
          go.disabled = false;
          keep.disabled = false;
          go.textContent = t('order.cancel_confirm');
          if (changedMeanwhile(error)) return;
          showApiErrors(error, { reason }, formError);
        }
      });
      bar.append(box);
      return;
    }
    const formError = el('p', 'form-error');
    formError.hidden = true;
    formError.setAttribute('role', 'alert');
    formError.id = 'order-action-error';
    const row = el('div', 'action-row');
    if (canAllocate) {
      const again = el('button', 'btn', t('order.reallocate'));
      again.type = 'button';
      again.id = 'order-reallocate';
      again.addEventListener('click', async () => {
        again.disabled = true;
        again.textContent = t('order.busy');
        try {
          const { data } = await api(`/api/orders/${o.id}/allocate`, { method: 'POST' });
          order = data;
          render();
          toast(t('order.reallocated', { status: statusName(data.status) }));
        } catch (error) {
          again.disabled = false;
          again.textContent = t('order.reallocate');
          if (changedMeanwhile(error)) return;
          showApiErrors(error, {}, formError);
        }
      });
      row.append(again);
    }
    if (canCancel) {
      const cancel = el('button', 'btn btn-danger-quiet', t('order.cancel'));
      cancel.type = 'button';
      cancel.id = 'order-cancel';
      cancel.addEventListener('click', () => {
        openForm = 'cancel';
        renderActions(o);
        document.getElementById('cancel-reason')?.focus();
      });
      row.append(cancel);
    }
    bar.append(formError, row);
  }

  /** A 409: the order moved on meanwhile (cancelled elsewhere, picked...). The form
   *  closes and the order is shown as it now is, with a word about why. */
  function changedMeanwhile(error) {
    if (!(error instanceof ApiError) || error.status !== 409) return false;
    openForm = null;
    stale = false;
    toast(t('order.err_conflict'));
    load({ quiet: true });
    return true;
  }

  function closeForm() {
    openForm = null;
    if (stale) {
      stale = false;
      load({ quiet: true });
    } else {
      render();
    }
  }

  function render() {
    if (!order) return;
    const parts = [header(order), shipTo(order), linesPanel(order), whyPanel(order),
      shipmentsPanel(order), historyPanel(order)].filter(Boolean);
    body.replaceChildren(...parts);
    body.setAttribute('aria-busy', 'false');
    renderActions(order);
    if (!root.hidden) savedDataNote(fromCache);
  }

  function notFound() {
    const box = el('div', 'empty');
    box.append(el('p', 'empty-title', t('order.not_found')), el('p', 'muted', t('order.not_found_hint')));
    body.replaceChildren(box);
    bar.hidden = true;
  }

  async function load({ quiet = false } = {}) {
    const mine = ++seq;
    const wanted = id;
    if (!quiet) {
      status.hidden = false;
      status.textContent = t('common.loading');
    }
    try {
      const answer = await api(`/api/orders/${wanted}`);
      if (mine !== seq || wanted !== id) return;
      order = answer.data;
      fromCache = answer.fromCache;
      status.hidden = true;
      render();
    } catch (error) {
      if (mine !== seq || wanted !== id) return;
      if (error instanceof ApiError && error.status === 404) {
        status.hidden = true;
        order = null;
        notFound();
      } else if (error instanceof NetworkError) {
        status.hidden = false;
        status.textContent = order ? t('err.network') : t('order.no_saved');
      } else {
        status.hidden = false;
        status.textContent = errorText(error);
      }
    }
  }

  return {
    show(params) {
      if (params.id !== id) {
        id = params.id;
        openForm = null;
        stale = false;
        const painted = order === null && body.querySelector('.order-title');
        order = null;
        if (!painted) {
          body.replaceChildren();
          bar.hidden = true;
        }
        load();
      } else {
        load({ quiet: true });
      }
    },
    rerender: () => render(),
    refresh: () => { if (id) load({ quiet: true }); },
    onOrderUpdated(event) {
      if (event.order_id !== id) return;
      if (openForm !== null) {
        stale = true;
        return;
      }
      load({ quiet: true });
    },
  };
}

// -- the home's "needs a look" lines --------------------------------------------------

/** The exception statuses with orders in them, on a home screen; fresh on every
 *  order.updated (debounced) and on refresh. */
export function attentionBanner(root) {
  const box = root.querySelector('[data-part="attention"]');
  if (!box) return {};
  let counts = null;

  function render() {
    if (!counts) return;
    const items = EXCEPTIONS.filter((s) => counts[s] > 0).map((s) => {
      const a = el('a', 'attention-item');
      a.href = `/orders?status=${s}`;
      a.dataset.status = s;
      const go = el('span', 'attention-go', '›');
      go.setAttribute('aria-hidden', 'true');
      a.append(statusBadge(s), el('span', 'attention-text', tn('home.attention_n', counts[s])), go);
      return a;
    });
    box.replaceChildren(...items);
    box.hidden = items.length === 0;
  }

  async function refresh() {
    try {
      ({ data: { counts } } = await api('/api/orders/counts'));
      render();
    } catch {
      // The server-painted lines stay; they are a shortcut, not the truth.
    }
  }
  const later = debounce(refresh, 800);
  refresh();
  return { refresh, rerender: render, onOrderUpdated: later };
}
