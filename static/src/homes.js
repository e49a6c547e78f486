// The home screen of each role. The server has already painted the headings and
// empty states (templates/home/*.html); these fill in the data and keep it fresh.
// Each takes its screen's root element and returns { rerender, onStockChanged,
// refresh } for the shell to call.
import { api, NetworkError } from './api.js';
import { t } from './i18n.js';
import { debounce, el, number, savedDataNote } from './format.js';


// -- admin: counts of what the warehouse holds -------------------------------------

const COUNT_PAGES = 10; // 2,000 rows at most: past that the card says "2,000+"

async function countAll(path) {
  let count = 0;
  let after = null;
  let pages = 0;
  let fromCache = false;
  do {
    const query = new URLSearchParams({ limit: '200' });
    if (after) query.set('after', after);
    const page = await api(`${path}?${query}`);
    count += page.data.items.length;
    after = page.data.next_cursor;
    fromCache = fromCache || page.fromCache;
    pages += 1;
  } while (after && pages < COUNT_PAGES);
  return { count, more: Boolean(after), fromCache };
}

export function adminHome(boot, root) {
  const sources = { warehouses: '/api/warehouses', skus: '/api/skus', stock_rows: '/api/stock' };
  const results = {};

  function render() {
    for (const [key, result] of Object.entries(results)) {
      const out = document.querySelector(`[data-count="${key}"]`);
      if (!out) continue;
      out.textContent = result ? number(result.count) + (result.more ? '+' : '') : '–';
    }
  }

  async function refresh() {
    const entries = Object.entries(sources);
    const answers = await Promise.allSettled(entries.map(([, path]) => countAll(path)));
    let fromCache = false;
    answers.forEach((answer, i) => {
      const key = entries[i][0];
      if (answer.status === 'fulfilled') {
        results[key] = answer.value;
        fromCache = fromCache || answer.value.fromCache;
      } else if (!(answer.reason instanceof NetworkError)) {
        console.error(answer.reason);
      }
      document.querySelector(`[data-count="${key}"]`)?.closest('.card')
        ?.setAttribute('aria-busy', 'false');
    });
    savedDataNote(fromCache);
    render();
  }

  root.querySelector('[data-part="refresh"]')?.addEventListener('click', refresh);
  refresh();
  const later = debounce(refresh, 1500);
  return { rerender: render, refresh, onStockChanged: later };
}

// -- seller: my stock, page by page (an admin's Stock screen too) ------------------

export function stockScreen(boot, root) {
  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  const list = part('list');
  const empty = part('empty');
  const status = part('status');
  const more = part('more');
  let rows = []; // the items shown, in API order
  let cursor = null;
  const warehouseCodes = new Map();

  const key = (item) => `${item.sku_id}:${item.bin_id}`;

  function rowNode(item) {
    const li = el('li', 'stock-row');
    li.dataset.key = key(item);
    const main = el('div', 'stock-main');
    main.append(el('span', 'stock-sku', item.sku_code));
    const where = warehouseCodes.get(item.warehouse_id) || `#${item.warehouse_id}`;
    main.append(el('span', 'stock-where', `${where} · ${item.bin_code}`));
    const qty = el('div', 'stock-qty');
    qty.append(el('span', 'qty-big', number(item.available)));
    qty.append(el('span', 'qty-label', t('stock.available')));
    qty.append(el('span', 'qty-small',
      `${t('stock.on_hand')} ${number(item.on_hand)} · ${t('stock.reserved')} ${number(item.reserved)}`));
    li.append(main, qty);
    return li;
  }

  function render() {
    list.replaceChildren(...rows.map(rowNode));
    empty.hidden = rows.length > 0;
    more.hidden = !cursor;
  }

  async function loadWarehouses() {
    try {
      const { data } = await api('/api/warehouses?limit=200');
      for (const w of data.items) warehouseCodes.set(w.id, w.code);
    } catch {
      // Codes are a nicety: rows still show with the warehouse id.
    }
  }

  async function load({ append = false } = {}) {
    const query = new URLSearchParams({ limit: '20' });
    if (append && cursor) query.set('after', cursor);
    // /stock?sku_id=…&warehouse_id=…: one SKU's rows (a link from elsewhere, a lookup).
    const asked = new URLSearchParams(location.search);
    for (const name of ['sku_id', 'warehouse_id']) {
      if (/^\d+$/.test(asked.get(name) || '')) query.set(name, asked.get(name));
    }
    status.hidden = false;
    status.textContent = t('common.loading');
    try {
      const { data, fromCache } = await api(`/api/stock?${query}`);
      rows = append ? rows.concat(data.items) : data.items;
      cursor = data.next_cursor;
      savedDataNote(fromCache);
      status.hidden = true;
      render();
    } catch (error) {
      status.textContent = error instanceof NetworkError
        ? t('err.network') : t('err.server', { status: error.status || '?' });
    }
  }

  async function refresh() {
    if (warehouseCodes.size === 0) await loadWarehouses();
    await load();
  }

  more.addEventListener('click', () => load({ append: true }));
  part('refresh')?.addEventListener('click', refresh);
  refresh();

  // A stock.changed event updates its row in place; a row not on screen yet is
  // picked up by the next refresh (events are hints, the API is the truth).
  function onStockChanged(event) {
    const row = rows.find((r) => r.sku_id === event.sku_id && r.bin_id === event.bin_id);
    if (!row) return;
    Object.assign(row, {
      on_hand: event.on_hand, reserved: event.reserved, available: event.available,
    });
    const node = list.querySelector(`[data-key="${key(row)}"]`);
    if (node) {
      const fresh = rowNode(row);
      fresh.classList.add('flash-ok');
      node.replaceWith(fresh);
    }
  }
  return { rerender: render, refresh, onStockChanged };
}

export const sellerHome = stockScreen;

// -- picker: my tasks and the scan field (static/src/floor/home.js) -----------------

export { pickerHome } from './floor/home.js';

// -- driver: today's route, offline (static/src/driver/home.js) ----------------------

export { driverHome } from './driver/home.js';
