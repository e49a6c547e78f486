// What the floor screens share (static/src/floor/*.js, one module per screen): the
// prompt and its feedback (tone, vibration, colour), the quantity keypad, the
// camera, the log of a screen's mutations, and the scan bar with its focus.
//
// Every floor screen renders from what is kept on the device (IndexedDB: tasks,
// task_lines, outbox), so it works in an aisle with no Wi-Fi; every scan is checked
// on the device at once, becomes a mutation in the outbox, and shows as pending,
// synced, conflict or rejected.
import { t } from '../i18n.js';
import { el } from '../format.js';
import { acknowledge as okFlash, bindScanField, refuse as badFlash } from '../scan.js';
import { acknowledge, outboxRows, UNDONE } from '../outbox.js';

export const part = (root, name) => root.querySelector(`[data-part="${name}"]`);
export const OPEN = new Set(['open', 'claimed']);

// -- shared: prompt and feedback, the keypad, the camera, the mutation log -----------

export function feedback(root, ok, message) {
  const prompt = part(root.closest('.screen'), 'prompt');
  prompt.textContent = message;
  prompt.dataset.state = ok ? 'ok' : 'bad';
  prompt.dataset.at = String(Date.now());
  if (ok) okFlash(prompt);
  else badFlash(prompt);
}

export function setPrompt(screen, message) {
  const prompt = part(screen, 'prompt');
  const age = Date.now() - Number(prompt.dataset.at || 0);
  // A refusal stays readable for a few seconds, whatever re-renders meanwhile.
  if (prompt.dataset.state === 'bad' && age < 4000) return;
  prompt.textContent = message;
  if (age > 1000) prompt.dataset.state = 'idle';
}

/** The scan field of the screen in sight gets the focus back (after a dialog, a
 * tap on a button, a screen change), so a wedge scanner's next scan lands in it. */
export function focusScan() {
  if (document.querySelector('dialog[open]')) return;
  const input = document.querySelector('.screen:not([hidden]) [data-part="scan"]')
    || document.querySelector('.screen:not([hidden]) #scan-input');
  if (input && document.activeElement !== input) input.focus({ preventScroll: true });
}

/**
 * The keypad dialog: resolves with a whole number, or null when cancelled. It
 * always starts empty: the first key typed is the first digit (a prefilled maximum
 * turned a tap on 1 into 21). `min`/`max` bound the answer; nothing typed is no
 * answer, so OK then says what range is wanted.
 */
export function keypad(title, { max = 100000, min = 1 } = {}) {
  const dialog = document.getElementById('keypad');
  const value = part(dialog, 'value');
  part(dialog, 'title').textContent = title;
  let typed = '';
  const show = () => {
    value.textContent = typed;
    value.dataset.empty = typed ? 'false' : 'true';
  };
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
      if (/^\d$/.test(event.key)) { typed = (typed === '0' ? '' : typed) + event.key; typed = typed.slice(0, 7); show(); }
      else if (event.key === 'Backspace') { typed = typed.slice(0, -1); show(); }
      else if (event.key === 'Enter') { event.preventDefault(); finish(true); }
    };
    function finish(ok) {
      const n = Number(typed);
      if (ok && (typed === '' || n < min || n > max)) {
        value.textContent = t('floor.keypad_range', { min, max });
        value.dataset.empty = 'false';
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
      focusScan();
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

export async function openCamera(boot, onScan) {
  const dialog = document.getElementById('camera');
  const status = part(dialog, 'status');
  status.textContent = t('common.loading');
  if (dialog.showModal) dialog.showModal(); else dialog.setAttribute('open', '');
  let stop = () => {};
  const close = () => { stop(); if (dialog.open) dialog.close(); focusScan(); };
  part(dialog, 'close').onclick = close;
  dialog.onclose = () => { stop(); focusScan(); };
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
export function describe(row) {
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

export function problem(row) {
  const d = row.detail || {};
  if (row.status === 'rejected') {
    // The message is in this user's language (the server renders it); the fields'
    // problems are the machine-readable English.
    if (d.message) return d.message;
    const fields = d.fields || {};
    const field = Object.keys(fields)[0];
    return field ? `${field}: ${fields[field][0]}` : '';
  }
  if (row.status === 'conflict') {
    if (d.short) return t('floor.conflict_short', { n: d.short, picked: d.picked ?? d.moved ?? 0 });
    if (d.counted !== undefined) return t('floor.conflict_count', { n: d.counted });
    return d.message || t('floor.conflict');
  }
  return '';
}

export function logItem(row, { canAck = false } = {}) {
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

export async function renderLog(list, filter, limit = 8) {
  const rows = await outboxRows(filter, limit);
  list.replaceChildren(...rows.map((row) => logItem(row, { canAck: true })));
}

export function bindAcks(root) {
  root.addEventListener('click', (event) => {
    const button = event.target.closest('[data-ack]');
    if (button) acknowledge(Number(button.dataset.ack));
  });
}

/** The scan bar of a screen: wedge scanner, Type button and camera. */
export function bindScanBar(boot, screen, onScan) {
  bindScanField(part(screen, 'scan'), { onScan, keyboardButton: part(screen, 'keyboard') });
  part(screen, 'camera')?.addEventListener('click', () => openCamera(boot, onScan));
}

export const sameCode = (a, b) => String(a).trim().toUpperCase() === String(b).trim().toUpperCase();
