// The floor screens (pickers and admins): my tasks, pick, receive, put away / move,
// count, ship and exceptions. Every screen renders from what is kept on the device
// (IndexedDB: tasks, task_lines, outbox), so it works in an aisle with no Wi-Fi;
// every scan is checked on the device at once (tone, vibration, colour), becomes a
// mutation in the outbox, and shows as pending, synced, conflict or rejected.
import { api, ApiError, NetworkError } from './api.js';
import { t } from './i18n.js';
import { el, number, toast } from './format.js';
import { isOnline, onNetworkChange } from './net.js';
import { acknowledge as okFlash, bindScanField, refuse as badFlash } from './scan.js';
import {
  acknowledge, localGet, localRows, onOutboxChange, outboxRows, undo, UNDONE,
} from './outbox.js';
import { fetchTaskDetail, queue, syncNow } from './sync.js';

const part = (root, name) => root.querySelector(`[data-part="${name}"]`);
const OPEN = new Set(['open', 'claimed']);

// -- shared: prompt and feedback, the keypad, the camera, the mutation log -----------

function feedback(root, ok, message) {
  const prompt = part(root.closest('.screen'), 'prompt');
  prompt.textContent = message;
  prompt.dataset.state = ok ? 'ok' : 'bad';
  prompt.dataset.at = String(Date.now());
  if (ok) okFlash(prompt);
  else badFlash(prompt);
}

function setPrompt(screen, message) {
  const prompt = part(screen, 'prompt');
  const age = Date.now() - Number(prompt.dataset.at || 0);
  // A refusal stays readable for a few seconds, whatever re-renders meanwhile.
  if (prompt.dataset.state === 'bad' && age < 4000) return;
  prompt.textContent = message;
  if (age > 1000) prompt.dataset.state = 'idle';
}

/** The keypad dialog: resolves with a whole number, or null when cancelled. */
function keypad(title, { max = 100000, min = 1, start = '' } = {}) {
  const dialog = document.getElementById('keypad');
  const value = part(dialog, 'value');
  part(dialog, 'title').textContent = title;
  let typed = String(start);
  const show = () => { value.textContent = typed || '0'; };
  show();
  return new Promise((resolve) => {
    const onKey = (event) => {
      const key = event.target.closest('[data-key]')?.dataset.key;
      if (!key) return;
      if (key === '⌫') typed = typed.slice(0, -1);
      else if (key === 'C') typed = '';
      else if (typed.length < 7) typed = (typed === '0' ? '' : typed) + key;
      show();
    };
    const onTyped = (event) => {
      if (/^\d$/.test(event.key)) { typed = (typed + event.key).slice(0, 7); show(); }
      else if (event.key === 'Backspace') { typed = typed.slice(0, -1); show(); }
      else if (event.key === 'Enter') { event.preventDefault(); finish(true); }
    };
    function finish(ok) {
      const n = Number(typed || '0');
      if (ok && (n < min || n > max)) {
        value.textContent = t('floor.keypad_range', { min, max });
        typed = '';
        return;
      }
      dialog.removeEventListener('click', onKey);
      dialog.removeEventListener('keydown', onTyped);
      part(dialog, 'ok').onclick = null;
      part(dialog, 'cancel').onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(ok ? n : null);
    }
    dialog.addEventListener('click', onKey);
    dialog.addEventListener('keydown', onTyped);
    part(dialog, 'ok').onclick = () => finish(true);
    part(dialog, 'cancel').onclick = () => finish(false);
    dialog.onclose = () => finish(false);
    if (dialog.showModal) dialog.showModal(); else dialog.setAttribute('open', '');
    part(dialog, 'ok').focus();
  });
}

let cameraScript = null;
/** The camera bundle (BarcodeDetector, or its WASM polyfill) loads only when asked for. */
function loadCamera(boot) {
  cameraScript = cameraScript || new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = boot.camera_js;
    script.onload = () => resolve(window.HaicangCamera);
    script.onerror = () => { cameraScript = null; reject(new Error('camera bundle')); };
    document.head.append(script);
  });
  return cameraScript;
}

async function openCamera(boot, onScan) {
  const dialog = document.getElementById('camera');
  const status = part(dialog, 'status');
  status.textContent = t('common.loading');
  if (dialog.showModal) dialog.showModal(); else dialog.setAttribute('open', '');
  let stop = () => {};
  const close = () => { stop(); if (dialog.open) dialog.close(); };
  part(dialog, 'close').onclick = close;
  dialog.onclose = () => stop();
  try {
    const camera = await loadCamera(boot);
    status.textContent = t('floor.camera_aim');
    stop = await camera.start(part(dialog, 'video'), (value) => {
      close();
      onScan(value);
    });
  } catch (error) {
    status.textContent = t('floor.camera_error');
    console.warn('camera', error);
  }
}

/** What a mutation did, in a line a person reads. */
function describe(row) {
  const a = row.name === UNDONE && row.undone ? row.undone.args : row.args;
  const name = row.name === UNDONE && row.undone ? row.undone.name : row.name;
  switch (name) {
    case 'pick.confirm': {
      const sku = row.sku_code || a.sku; // the line's SKU code, not the barcode scanned
      return a.short ? t('floor.log_short', { bin: a.bin, sku, n: a.short })
        : t('floor.log_pick', { bin: a.bin, sku, n: a.qty });
    }
    case 'receive.scan': return t('floor.log_receive', { bin: a.bin, sku: a.sku, n: a.qty });
    case 'stock.move':
    case 'putaway.confirm':
      return t('floor.log_move', { from: a.from_bin, to: a.to_bin, sku: a.sku, n: a.qty });
    case 'count.submit': return t('floor.log_count', { bin: a.bin, sku: a.sku, n: a.counted });
    case 'ship.confirm': return t('floor.log_ship', { code: a.tracking_number });
    default: return name;
  }
}

function problem(row) {
  const d = row.detail || {};
  if (row.status === 'rejected') {
    const fields = d.fields || {};
    const field = Object.keys(fields)[0];
    return field ? `${field}: ${fields[field][0]}` : (d.message || '');
  }
  if (row.status === 'conflict') {
    if (d.short) return t('floor.conflict_short', { n: d.short, picked: d.picked ?? d.moved ?? 0 });
    if (d.counted !== undefined) return t('floor.conflict_count', { n: d.counted });
    return d.message || t('floor.conflict');
  }
  return '';
}

function logItem(row, { canAck = false } = {}) {
  const li = el('li', 'mutation');
  li.dataset.status = row.status;
  li.dataset.id = String(row.id);
  const head = el('div', 'mutation-head');
  head.append(el('span', 'mutation-what', describe(row)));
  head.append(el('span', `sync-chip sync-${row.status}`, t(`sync.status.${row.status}`)));
  li.append(head);
  const why = problem(row);
  if (why) li.append(el('p', 'mutation-why', why));
  if (canAck && (row.status === 'conflict' || row.status === 'rejected') && !row.acknowledged) {
    const ok = el('button', 'btn btn-small', t('floor.acknowledge'));
    ok.type = 'button';
    ok.dataset.ack = String(row.id);
    li.append(ok);
  }
  return li;
}

async function renderLog(list, filter, limit = 8) {
  const rows = await outboxRows(filter, limit);
  list.replaceChildren(...rows.map((row) => logItem(row, { canAck: true })));
}

function bindAcks(root) {
  root.addEventListener('click', (event) => {
    const button = event.target.closest('[data-ack]');
    if (button) acknowledge(Number(button.dataset.ack));
  });
}

/** The scan bar of a screen: wedge scanner, Type button and camera. */
function bindScanBar(boot, screen, onScan) {
  bindScanField(part(screen, 'scan'), { onScan, keyboardButton: part(screen, 'keyboard') });
  part(screen, 'camera')?.addEventListener('click', () => openCamera(boot, onScan));
}

const sameCode = (a, b) => String(a).trim().toUpperCase() === String(b).trim().toUpperCase();

// -- My tasks ------------------------------------------------------------------------

export function tasksScreen(boot, root) {
  const screen = root;
  const list = part(root, 'list');
  const empty = part(root, 'empty');
  const status = part(root, 'status');
  const wave = part(root, 'wave');
  let shown = false;

  async function render() {
    const tasks = (await localRows('tasks')).filter((task) => OPEN.has(task.status));
    const picks = tasks.filter((task) => task.kind === 'pick').sort((a, b) => a.id - b.id);
    const exceptions = tasks.filter((task) => task.kind === 'exception');
    status.hidden = true;
    list.replaceChildren(...picks.map((task) => {
      const li = el('li', 'task-item');
      const a = el('a', 'task-link');
      a.href = `/floor/pick/${task.id}`;
      a.dataset.taskId = String(task.id);
      a.append(el('span', 'task-kind', `${t('floor.pick_title')} #${task.id}`));
      a.append(el('span', 'task-title', task.title || ''));
      const mine = task.assigned_user_id === boot.id;
      a.append(el('span', `task-state task-${task.status}`, task.status === 'claimed'
        ? (mine ? t('floor.claimed_by_me') : t('floor.claimed')) : t('floor.open')));
      li.append(a);
      return li;
    }));
    if (exceptions.length) {
      const li = el('li', 'task-item');
      const a = el('a', 'task-link task-exceptions');
      a.href = '/floor/exceptions';
      a.append(el('span', 'task-kind', t('floor.exceptions_title')));
      a.append(el('span', 'task-title', t('floor.n_exceptions', { n: number(exceptions.length) })));
      li.append(a);
      list.append(li);
    }
    empty.hidden = picks.length > 0;
    if (shown) setPrompt(screen, t('floor.tasks_prompt'));
  }

  wave.addEventListener('click', async () => {
    const warehouse = (boot.warehouses || [])[0];
    if (!warehouse) { toast(t('floor.no_warehouse')); return; }
    wave.disabled = true;
    try {
      const { data } = await api('/api/waves', { method: 'POST', body: { warehouse_id: warehouse.id, max_orders: 20 } });
      await syncNow();
      boot.router.navigate(`/floor/pick/${data.id}`);
    } catch (error) {
      toast(error instanceof NetworkError ? t('err.offline_action')
        : (error.message || t('err.server', { status: error.status || '?' })));
    } finally {
      wave.disabled = false;
    }
  });

  // Scanning a bin on the task list opens the pick list that goes there.
  async function onScan(value) {
    const saved = await localRows('task_lines');
    for (const task of saved) {
      if (!OPEN.has(task.status)) continue;
      if ((task.lines || []).some((line) => line.open_quantity > 0 && sameCode(line.bin_code, value))) {
        feedback(root, true, value);
        boot.router.navigate(`/floor/pick/${task.id}`);
        return;
      }
    }
    feedback(root, false, t('floor.nothing_at', { code: value }));
  }
  bindScanBar(boot, screen, onScan);
  onOutboxChange((kind) => { if (kind === 'data') render(); });
  return {
    show() { shown = true; render(); if (isOnline()) syncNow(); },
    hide() { shown = false; },
    rerender: render,
    refresh: () => syncNow(),
  };
}

// -- Pick ----------------------------------------------------------------------------

export function pickScreen(boot, root) {
  const screen = root;
  const main = root.querySelector('main');
  const card = part(root, 'card');
  const status = part(root, 'status');
  const done = part(root, 'done');
  const log = part(root, 'log');
  let taskId = null;
  let detail = null;
  let rows = []; // this task's outbox rows
  let optimistic = []; // queued this instant, not yet in IndexedDB
  let binOk = null; // the bin code confirmed for the current line
  let itemCode = null; // the item code scanned for the current line
  let fetching = false;

  const mine = (row) => row.task_id === taskId;

  function queuedOn(line) {
    let n = 0;
    const mark = detail ? detail.mark || 0 : 0;
    for (const row of [...rows, ...optimistic]) {
      if (row.name !== 'pick.confirm' || row.args.task_line_id !== line.id) continue;
      const counts = row.status === 'pending' || (row.id > mark
        && (row.status === 'synced' || row.status === 'conflict'));
      if (counts) n += (row.args.qty || 0) + (row.args.short || 0);
    }
    return n;
  }
  const remaining = (line) => Math.max(0, line.open_quantity - queuedOn(line));
  const current = () => (detail ? (detail.lines || []).find((line) => remaining(line) > 0) : null);

  function render() {
    part(root, 'task-no').textContent = taskId ? `#${taskId}` : '';
    if (!detail) {
      card.hidden = true;
      done.hidden = true;
      status.hidden = false;
      status.textContent = isOnline() ? t('common.loading') : t('floor.not_saved');
      return;
    }
    status.hidden = true;
    const line = current();
    const lines = detail.lines || [];
    done.hidden = Boolean(line);
    card.hidden = !line;
    if (!line) {
      setPrompt(screen, t('floor.pick_done'));
      return;
    }
    const index = lines.indexOf(line);
    part(root, 'progress').textContent = t('floor.line_of', { n: index + 1, total: lines.length });
    part(root, 'bin').textContent = line.bin_code;
    part(root, 'sku').textContent = line.sku_code;
    part(root, 'name').textContent = line.sku_name;
    part(root, 'qty-done').textContent = number(line.quantity - remaining(line));
    part(root, 'qty').textContent = number(line.quantity);
    card.dataset.step = binOk === line.bin_code ? 'item' : 'bin';
    main.dataset.line = String(line.id);
    setPrompt(screen, binOk === line.bin_code
      ? t('floor.scan_item', { sku: line.sku_code, n: remaining(line) })
      : t('floor.scan_bin', { bin: line.bin_code }));
  }

  async function loadRows() {
    rows = taskId ? await outboxRows(mine, 500) : [];
    render();
    renderLog(log, mine);
  }

  async function refreshDetail() {
    if (!taskId || fetching || !isOnline()) return;
    fetching = true;
    try {
      detail = await fetchTaskDetail(taskId);
      if (detail.status === 'open') {
        // Claim it, so two people never work the same list.
        await api(`/api/tasks/${taskId}/claim`, { method: 'POST' }).catch(() => {});
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        status.textContent = t('floor.task_gone');
      }
    } finally {
      fetching = false;
    }
    await loadRows();
  }

  async function load(id) {
    if (id !== taskId) {
      binOk = null;
      itemCode = null;
    }
    taskId = id;
    detail = (await localGet('task_lines', id)) || null;
    await loadRows();
    refreshDetail();
  }

  function matchesItem(line, code) {
    return sameCode(line.sku_code, code) || (line.barcodes || []).some((b) => sameCode(b, code));
  }

  function take(line, args, message) {
    const row = { id: Infinity, name: 'pick.confirm', status: 'pending', args };
    optimistic.push(row);
    feedback(root, true, message);
    render();
    queue('pick.confirm', args, { task_id: taskId, screen: 'pick', sku_code: line.sku_code }).then((saved) => {
      optimistic = optimistic.filter((r) => r !== row);
      if (!rows.some((r) => r.id === saved.id)) rows = [saved, ...rows];
      render();
    }).catch((error) => {
      optimistic = optimistic.filter((r) => r !== row);
      feedback(root, false, t('floor.not_kept'));
      console.error(error);
      render();
    });
  }

  function onScan(value) {
    const line = current();
    if (!line) {
      feedback(root, false, detail ? t('floor.pick_done') : t('floor.not_saved'));
      return;
    }
    const isBin = sameCode(line.bin_code, value);
    const isItem = matchesItem(line, value);
    if (binOk !== line.bin_code) {
      if (isBin) {
        binOk = line.bin_code;
        itemCode = null;
        feedback(root, true, t('floor.bin_ok', { bin: line.bin_code }));
        render();
        setPrompt(screen, t('floor.scan_item', { sku: line.sku_code, n: remaining(line) }));
      } else if (isItem) {
        feedback(root, false, t('floor.scan_bin_first', { bin: line.bin_code }));
      } else {
        feedback(root, false, t('floor.wrong_bin', { bin: line.bin_code, code: value }));
      }
      return;
    }
    if (isBin) {
      feedback(root, true, t('floor.scan_item', { sku: line.sku_code, n: remaining(line) }));
      return;
    }
    if (!isItem) {
      feedback(root, false, t('floor.wrong_item', { sku: line.sku_code, code: value }));
      return;
    }
    itemCode = value;
    take(line, { task_line_id: line.id, bin: line.bin_code, sku: value, qty: 1 },
      t('floor.picked_one', { sku: line.sku_code, n: remaining(line) - 1 }));
    // The next line in the same bin keeps the bin confirmed (location first).
    const next = current();
    if (next && next !== line && next.bin_code !== line.bin_code) binOk = null;
  }

  part(root, 'keypad').addEventListener('click', async () => {
    const line = current();
    if (!line) return;
    if (binOk !== line.bin_code) {
      feedback(root, false, t('floor.scan_bin_first', { bin: line.bin_code }));
      return;
    }
    if (!itemCode) {
      feedback(root, false, t('floor.scan_item_first', { sku: line.sku_code }));
      return;
    }
    const max = remaining(line);
    const n = await keypad(t('floor.how_many', { sku: line.sku_code, max }), { max });
    if (n) take(line, { task_line_id: line.id, bin: line.bin_code, sku: itemCode, qty: n },
      t('floor.picked_n', { sku: line.sku_code, n }));
  });

  part(root, 'short').addEventListener('click', async () => {
    const line = current();
    if (!line) return;
    if (binOk !== line.bin_code) {
      feedback(root, false, t('floor.scan_bin_first', { bin: line.bin_code }));
      return;
    }
    const max = remaining(line);
    const n = await keypad(t('floor.how_many_short', { sku: line.sku_code, bin: line.bin_code, max }),
      { max, start: max });
    if (n) {
      take(line, { task_line_id: line.id, bin: line.bin_code, sku: line.sku_code, qty: 0, short: n },
        t('floor.short_noted', { n }));
    }
  });

  part(root, 'undo').addEventListener('click', async () => {
    const row = await undo(mine);
    if (!row) feedback(root, false, t('floor.undo_none'));
    else {
      feedback(root, true, t('floor.undone', { what: describe(row) }));
      await loadRows();
    }
  });

  bindScanBar(boot, screen, onScan);
  bindAcks(log);
  onOutboxChange((kind) => {
    if (!taskId) return;
    if (kind === 'data') load(taskId);
    else loadRows();
  });
  return {
    show(params) { load(params.id); },
    rerender: render,
    refresh: refreshDetail,
    current: () => current(),
  };
}

// -- Receive, put away / move, count, ship: a few steps each, then a mutation ---------

function flowScreen(boot, root, spec) {
  const screen = root;
  const flow = part(root, 'flow');
  const log = part(root, 'log');
  const state = {};
  const mine = (row) => row.screen === spec.name;

  function render() {
    const rowsEls = [];
    const step = spec.steps.find((s) => state[s] === undefined);
    for (const key of spec.steps) {
      const dt = el('dt', 'flow-key', t(`floor.step.${key}`));
      const value = state[key];
      const dd = el('dd', 'flow-value', value === undefined ? '—' : String(value));
      dd.dataset.step = key;
      if (key === step) dt.classList.add('flow-now');
      rowsEls.push(dt, dd);
    }
    flow.replaceChildren(...rowsEls);
    setPrompt(screen, spec.prompt(state, step));
  }

  const api_ = {
    state,
    render,
    ok: (message) => { feedback(root, true, message); render(); },
    bad: (message) => feedback(root, false, message),
    async send(name, args) {
      try {
        await queue(name, args, { screen: spec.name });
      } catch (error) {
        feedback(root, false, t('floor.not_kept'));
        console.error(error);
      }
    },
  };

  bindScanBar(boot, screen, (value) => spec.scan(api_, value));
  part(root, 'undo')?.addEventListener('click', async () => {
    const row = await undo(mine);
    if (!row) api_.bad(t('floor.undo_none'));
    else api_.ok(t('floor.undone', { what: describe(row) }));
  });
  part(root, 'keypad')?.addEventListener('click', () => spec.keypad(api_));
  part(root, 'reset')?.addEventListener('click', () => {
    for (const key of Object.keys(state)) delete state[key];
    api_.ok(t('floor.started_over'));
  });
  bindAcks(log);
  const showLog = () => renderLog(log, mine);
  onOutboxChange(showLog);
  return { show() { render(); showLog(); }, rerender() { render(); showLog(); } };
}

export function receiveScreen(boot, root) {
  return flowScreen(boot, root, {
    name: 'receive',
    steps: ['bin', 'sku'],
    prompt: (s, step) => (step === 'bin' ? t('floor.scan_a_bin') : t('floor.scan_items_into', { bin: s.bin })),
    scan(f, value) {
      const s = f.state;
      if (s.bin === undefined) { s.bin = value; f.ok(t('floor.bin_ok', { bin: value })); return; }
      if (sameCode(s.bin, value)) { f.ok(t('floor.scan_items_into', { bin: s.bin })); return; }
      s.sku = value;
      f.send('receive.scan', { bin: s.bin, sku: value, qty: 1 });
      f.ok(t('floor.received_one', { sku: value, bin: s.bin }));
      delete s.sku;
      s.last = value;
    },
    async keypad(f) {
      const s = f.state;
      if (!s.bin || !s.last) { f.bad(t('floor.scan_item_first', { sku: '' })); return; }
      const n = await keypad(t('floor.how_many_more', { sku: s.last }));
      if (n) { f.send('receive.scan', { bin: s.bin, sku: s.last, qty: n }); f.ok(t('floor.received_n', { sku: s.last, n })); }
    },
  });
}

export function moveScreen(boot, root) {
  const finish = (f, to) => {
    const s = f.state;
    // From the dock (a receiving bin) it is a putaway; else a move between bins.
    const name = /^RECV/i.test(s.from_bin) ? 'putaway.confirm' : 'stock.move';
    f.send(name, { from_bin: s.from_bin, to_bin: to, sku: s.sku, qty: s.qty });
    f.ok(t('floor.moved', { sku: s.sku, n: s.qty, from: s.from_bin, to }));
    delete s.sku;
    delete s.qty;
  };
  return flowScreen(boot, root, {
    name: 'move',
    steps: ['from_bin', 'sku', 'qty', 'to_bin'],
    prompt: (s, step) => ({
      from_bin: t('floor.scan_from'),
      sku: t('floor.scan_item_from', { bin: s.from_bin }),
      qty: t('floor.scan_to', { n: s.qty }),
      to_bin: t('floor.scan_to', { n: s.qty }),
    }[step] || t('floor.scan_to', { n: s.qty })),
    scan(f, value) {
      const s = f.state;
      if (s.from_bin === undefined) { s.from_bin = value; f.ok(t('floor.bin_ok', { bin: value })); return; }
      if (s.sku === undefined) {
        if (sameCode(value, s.from_bin)) { f.ok(t('floor.scan_item_from', { bin: s.from_bin })); return; }
        s.sku = value; s.qty = 1; f.ok(t('floor.item_ok', { sku: value, n: 1 })); return;
      }
      if (sameCode(value, s.sku)) { s.qty += 1; f.ok(t('floor.item_ok', { sku: value, n: s.qty })); return; }
      if (sameCode(value, s.from_bin)) { f.bad(t('floor.same_bin')); return; }
      finish(f, value);
    },
    async keypad(f) {
      const s = f.state;
      if (!s.sku) { f.bad(t('floor.scan_item_first', { sku: '' })); return; }
      const n = await keypad(t('floor.how_many_move', { sku: s.sku }), { start: s.qty });
      if (n) { s.qty = n; f.ok(t('floor.item_ok', { sku: s.sku, n })); }
    },
  });
}

export function countScreen(boot, root) {
  async function ask(f) {
    const s = f.state;
    const n = await keypad(t('floor.how_many_counted', { sku: s.sku, bin: s.bin }), { min: 0 });
    if (n === null) return;
    f.send('count.submit', { bin: s.bin, sku: s.sku, counted: n });
    f.ok(t('floor.counted', { sku: s.sku, bin: s.bin, n }));
    delete s.sku;
  }
  return flowScreen(boot, root, {
    name: 'count',
    steps: ['bin', 'sku'],
    prompt: (s, step) => (step === 'bin' ? t('floor.scan_a_bin') : t('floor.scan_item_count', { bin: s.bin })),
    scan(f, value) {
      const s = f.state;
      if (s.bin === undefined) { s.bin = value; f.ok(t('floor.bin_ok', { bin: value })); return; }
      if (sameCode(s.bin, value)) { f.ok(t('floor.scan_item_count', { bin: s.bin })); return; }
      s.sku = value;
      f.ok(t('floor.item_ok', { sku: value, n: '?' }));
      ask(f);
    },
    keypad(f) {
      if (!f.state.sku) { f.bad(t('floor.scan_item_first', { sku: '' })); return; }
      ask(f);
    },
  });
}

export function shipScreen(boot, root) {
  return flowScreen(boot, root, {
    name: 'ship',
    steps: [],
    prompt: () => t('floor.scan_label'),
    scan(f, value) {
      f.send('ship.confirm', { tracking_number: value });
      f.ok(t('floor.shipped', { code: value }));
    },
    keypad() {},
  });
}

// -- Pack: the items of a picked order scanned into the parcel, weighed, labelled -----
//
// Needs the network for its last step (the server rates the parcel and makes the
// label); until then everything is on the screen, checked on the device at each scan
// against what was picked: missing in amber, extra in red.

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
    const n = await keypad(t('floor.pack_weight_title'), { max: 1000000, start: weight || '' });
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
    show() { render(); loadOrders(); },
    rerender: render,
    refresh: loadOrders,
  };
}

// -- Exceptions ------------------------------------------------------------------------

export function exceptionsScreen(boot, root) {
  const conflicts = part(root, 'conflicts');
  const noConflicts = part(root, 'no-conflicts');
  const list = part(root, 'list');
  const empty = part(root, 'empty');

  async function render() {
    const rows = await outboxRows((row) => row.status === 'conflict' || row.status === 'rejected', 30);
    rows.sort((a, b) => Boolean(a.acknowledged) - Boolean(b.acknowledged) || b.id - a.id);
    conflicts.replaceChildren(...rows.map((row) => logItem(row, { canAck: true })));
    noConflicts.hidden = rows.length > 0;
    const tasks = (await localRows('tasks'))
      .filter((task) => task.kind === 'exception' && OPEN.has(task.status))
      .sort((a, b) => b.id - a.id);
    list.replaceChildren(...tasks.map((task) => {
      const li = el('li', 'task-item exception-item');
      li.dataset.taskId = String(task.id);
      li.append(el('span', 'task-kind', t(`floor.reason.${task.reason}`) === `floor.reason.${task.reason}`
        ? task.reason : t(`floor.reason.${task.reason}`)));
      li.append(el('span', 'task-title', task.title || ''));
      const button = el('button', 'btn btn-primary', t('floor.resolve'));
      button.type = 'button';
      button.dataset.resolve = String(task.id);
      li.append(button);
      return li;
    }));
    empty.hidden = tasks.length > 0;
  }

  list.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-resolve]');
    if (!button) return;
    button.disabled = true;
    try {
      await api(`/api/tasks/${button.dataset.resolve}/resolve`, { method: 'POST', body: { note: '' } });
      toast(t('floor.resolved'));
      await syncNow();
    } catch (error) {
      toast(error instanceof NetworkError ? t('err.offline_action')
        : t('err.server', { status: error.status || '?' }));
      button.disabled = false;
    }
  });
  bindAcks(conflicts);
  onOutboxChange(render);
  return { show: render, rerender: render, refresh: () => syncNow() };
}
