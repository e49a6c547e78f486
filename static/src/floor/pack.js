// Pack: the items of a picked order scanned into the parcel, weighed, labelled.
//
// Needs the network for its last step (the server rates the parcel and makes the
// label); until then everything is on the screen, checked on the device at each scan
// against what was picked: missing in amber, extra in red.
import { api, NetworkError } from '../api.js';
import { t } from '../i18n.js';
import { el, number } from '../format.js';
import { isOnline, onNetworkChange } from '../net.js';
import { bindScanBar, feedback, focusScan, keypad, part, sameCode, setPrompt } from './common.js';

export function packScreen(boot, root) {
  const screen = root;
  const ui = (name) => part(root, name);
  const warehouse = () => (boot.warehouses || [])[0];
  const skus = new Map(); // sku id -> promise of GET /api/skus/<id>
  let orders = []; // picked orders of my warehouse (summaries)
  let order = null; // {id, external_id, expected: [{sku_id, code, name, barcodes, want}]}
  let scanned = new Map(); // sku id -> units scanned into the parcel
  let history = []; // sku ids in scan order, for undo
  let weight = null;
  let errors = {}; // the server's fields of the last refusal
  let result = null; // the shipments, once packed
  let offline = false; // the last try found no network
  let busy = false;
  let chain = Promise.resolve(); // scans handled one at a time, in order

  function sku(id) {
    if (!skus.has(id)) {
      skus.set(id, api(`/api/skus/${id}`).then((answer) => answer.data)
        .catch((error) => { skus.delete(id); throw error; }));
    }
    return skus.get(id);
  }

  async function loadOrders() {
    const here = warehouse();
    if (!here) return;
    try {
      const { data } = await api(`/api/orders?status=picked&warehouse_id=${here.id}&limit=200`);
      orders = (data && data.items) || [];
    } catch (error) {
      if (!(error instanceof NetworkError)) console.warn('pack: orders', error);
    }
    render();
  }

  async function open(summary) {
    const here = warehouse();
    const { data } = await api(`/api/orders/${summary.id}`);
    const want = new Map();
    for (const line of data.lines || []) {
      const n = (line.allocated || []).filter((a) => a.warehouse_id === here.id)
        .reduce((sum, a) => sum + a.quantity, 0);
      if (!n) continue;
      let parts = [[line.sku_id, 1]];
      if (line.is_kit) {
        // A kit is picked, and so packed, as its components.
        const kit = await sku(line.sku_id);
        if ((kit.components || []).length) parts = kit.components.map((c) => [c.sku_id, c.quantity]);
      }
      for (const [id, per] of parts) want.set(id, (want.get(id) || 0) + per * n);
    }
    const expected = await Promise.all([...want].map(async ([id, n]) => {
      const found = await sku(id);
      return { sku_id: id, code: found.code, name: found.name, barcodes: found.barcodes || [], want: n };
    }));
    order = { id: data.id, external_id: data.external_id, expected };
    scanned = new Map();
    history = [];
    weight = null;
    errors = {};
    result = null;
    offline = false;
  }

  function start(summary) {
    return open(summary).then(() => {
      feedback(root, true, t('floor.pack_order_ok', { code: summary.external_id }));
      render();
    }).catch((error) => {
      feedback(root, false, error instanceof NetworkError ? t('err.offline_action')
        : (error.message || t('err.server', { status: error.status || '?' })));
    });
  }

  async function findOrder(value) {
    const hit = orders.find((o) => sameCode(o.external_id, value));
    if (hit || !isOnline() || !warehouse()) return hit || null;
    try {
      const { data } = await api(`/api/orders?status=picked&warehouse_id=${warehouse().id}`
        + `&q=${encodeURIComponent(value)}&limit=5`);
      return ((data && data.items) || []).find((o) => sameCode(o.external_id, value)) || null;
    } catch {
      return null;
    }
  }

  const matches = (item, code) => sameCode(item.code, code) || item.barcodes.some((b) => sameCode(b, code));

  async function handle(value) {
    if (result) { order = null; result = null; }
    const item = order && order.expected.find((e) => matches(e, value));
    if (!item) {
      if (order && sameCode(order.external_id, value)) {
        feedback(root, true, t('floor.pack_scan_items'));
        return;
      }
      const hit = await findOrder(value);
      if (hit) {
        if (order && hit.id === order.id) return;
        if (order && history.length) { feedback(root, false, t('floor.pack_finish_first')); return; }
        await start(hit);
        return;
      }
      feedback(root, false, order ? t('floor.pack_not_in_order', { code: value })
        : t('floor.pack_no_order', { code: value }));
      return;
    }
    const n = (scanned.get(item.sku_id) || 0) + 1;
    scanned.set(item.sku_id, n);
    history.push(item.sku_id);
    delete errors.items;
    if (n > item.want) feedback(root, false, t('floor.pack_too_many', { sku: item.code }));
    else feedback(root, true, t('floor.pack_item_ok', { sku: item.code, n, total: item.want }));
    render();
  }

  function onScan(value) {
    chain = chain.then(() => handle(value)).catch((error) => console.error(error));
  }

  function orderItem(summary) {
    const li = el('li', 'task-item');
    const button = el('button', 'task-link pack-order');
    button.type = 'button';
    button.dataset.orderId = String(summary.id);
    button.append(el('span', 'task-kind', summary.external_id));
    button.append(el('span', 'task-title', [summary.ship_to_name, summary.ship_to_city]
      .filter(Boolean).join(', ')));
    button.append(el('span', 'task-state', `${number(summary.units || 0)} ${t('floor.units')}`));
    li.append(button);
    return li;
  }

  function render() {
    ui('order-no').textContent = order && !result ? order.external_id : '';
    ui('choose').hidden = Boolean(order);
    ui('status').hidden = Boolean(order);
    ui('parcel').hidden = !order || Boolean(result);
    ui('result').hidden = !result;
    if (!order) {
      ui('orders').replaceChildren(...orders.map(orderItem));
      ui('none').hidden = orders.length > 0;
      setPrompt(screen, t('floor.pack_scan_order'));
      return;
    }
    if (result) {
      ui('tracking').textContent = result.map((s) => s.tracking_number).join(', ');
      const label = ui('label');
      label.href = result[0] ? result[0].label_url : '#';
      return;
    }
    let missing = 0;
    let extra = 0;
    ui('items').replaceChildren(...order.expected.map((item) => {
      const n = scanned.get(item.sku_id) || 0;
      const li = el('li', 'pack-item');
      li.dataset.skuId = String(item.sku_id);
      li.dataset.sku = item.code;
      li.dataset.state = n < item.want ? 'missing' : n > item.want ? 'extra' : 'ok';
      li.append(el('span', 'pack-item-code', item.code));
      li.append(el('span', 'pack-item-count', `${number(n)} / ${number(item.want)}`));
      li.append(el('span', 'pack-item-name', item.name || ''));
      if (n < item.want) {
        missing += item.want - n;
        li.append(el('span', 'pack-item-note', t('floor.pack_missing', { n: item.want - n })));
      } else if (n > item.want) {
        extra += n - item.want;
        li.append(el('span', 'pack-item-note', t('floor.pack_extra', { n: n - item.want })));
      }
      return li;
    }));
    const other = Object.entries(errors).filter(([field]) => field !== 'weight_g')
      .flatMap(([, messages]) => messages);
    ui('items-error').hidden = !other.length;
    ui('items-error').textContent = other.join('; ');
    ui('weight').textContent = weight ? t('floor.pack_weight', { g: number(weight) })
      : t('floor.pack_weight_none');
    const weightError = (errors.weight_g || []).join('; ');
    ui('weight-error').hidden = !weightError;
    ui('weight-error').textContent = weightError;
    ui('offline').hidden = isOnline() && !offline;
    if (!missing && !extra) setPrompt(screen, weight ? t('floor.pack_button') : t('floor.pack_all_in'));
    else setPrompt(screen, t('floor.pack_scan_items'));
  }

  async function pack() {
    if (!order || busy || result) return;
    if (!weight) { feedback(root, false, t('floor.pack_need_weight')); return; }
    const button = ui('pack');
    busy = true;
    button.disabled = true;
    button.textContent = t('floor.pack_packing');
    const items = [...scanned].filter(([, n]) => n > 0).map(([id, n]) => ({ sku_id: id, quantity: n }));
    try {
      const { data } = await api(`/api/orders/${order.id}/pack`, {
        method: 'POST', body: { warehouse_id: warehouse().id, items, weight_g: weight },
      });
      result = data || [];
      errors = {};
      offline = false;
      orders = orders.filter((o) => o.id !== order.id);
      feedback(root, true, t('floor.pack_done', { code: result.map((s) => s.tracking_number).join(', ') }));
    } catch (error) {
      if (error instanceof NetworkError) {
        offline = true;
        feedback(root, false, t('floor.pack_offline'));
      } else {
        offline = false;
        errors = Object.keys(error.fields || {}).length ? error.fields
          : { items: [error.message || t('err.server', { status: error.status || '?' })] };
        feedback(root, false, t('floor.pack_failed'));
      }
    } finally {
      busy = false;
      button.disabled = false;
      button.textContent = t('floor.pack_button');
      render();
    }
  }

  ui('orders').addEventListener('click', (event) => {
    const button = event.target.closest('[data-order-id]');
    if (!button) return;
    const summary = orders.find((o) => o.id === Number(button.dataset.orderId));
    if (summary) chain = chain.then(() => start(summary));
  });
  ui('weight').addEventListener('click', async () => {
    if (!order) return;
    const n = await keypad(t('floor.pack_weight_title'), { max: 1000000 });
    if (n) {
      weight = n;
      delete errors.weight_g;
      feedback(root, true, t('floor.pack_weight', { g: number(n) }));
      render();
    }
  });
  ui('pack').addEventListener('click', pack);
  ui('next').addEventListener('click', () => {
    order = null;
    result = null;
    render();
    loadOrders();
  });
  ui('undo').addEventListener('click', () => {
    const id = history.pop();
    if (id === undefined || !order || result) { feedback(root, false, t('floor.undo_none')); return; }
    scanned.set(id, Math.max(0, (scanned.get(id) || 0) - 1));
    const item = order.expected.find((e) => e.sku_id === id);
    feedback(root, true, t('floor.pack_removed', { sku: item ? item.code : id }));
    render();
  });
  ui('reset').addEventListener('click', () => {
    order = null;
    result = null;
    scanned = new Map();
    history = [];
    weight = null;
    errors = {};
    feedback(root, true, t('floor.started_over'));
    render();
    loadOrders();
  });
  bindScanBar(boot, screen, onScan);
  onNetworkChange(() => { if (order) render(); });
  return {
    show() { render(); loadOrders(); focusScan(); },
    rerender: render,
    refresh: loadOrders,
  };
}

