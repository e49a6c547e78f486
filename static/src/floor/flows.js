// Receive, put away / move, count and ship: a few scans each, then a mutation in
// the outbox (static/src/floor/common.js for the scan bar, keypad and log).
import { t } from '../i18n.js';
import { el } from '../format.js';
import { onOutboxChange, undo } from '../outbox.js';
import { queue } from '../sync.js';
import {
  bindAcks, bindScanBar, describe, feedback, focusScan, keypad, part, renderLog, sameCode, setPrompt,
} from './common.js';

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
  return { show() { render(); showLog(); focusScan(); }, rerender() { render(); showLog(); } };
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
      const n = await keypad(t('floor.how_many_move', { sku: s.sku }));
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

