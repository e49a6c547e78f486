// The pick screen: one pick list in walking order, location first (the bin, then
// the item), from the lines kept on the device, so it works with no network.
//
// A pick list always finishes: each line shows what can still be taken (`to_pick`,
// as the server counts it, less what this device queued); units of a line that can
// no longer be taken (the order was cancelled, or its units went elsewhere) are
// listed under "left" with a button that closes them short. When nothing is left
// the list is done, and says how many units were picked and how many short.
import { api, ApiError } from '../api.js';
import { t } from '../i18n.js';
import { el, number } from '../format.js';
import { isOnline } from '../net.js';
import { localGet, onOutboxChange, outboxRows, undo } from '../outbox.js';
import { fetchTaskDetail, queue } from '../sync.js';
import {
  bindAcks, bindScanBar, describe, feedback, focusScan, keypad, OPEN, part, renderLog, sameCode,
  setPrompt,
} from './common.js';

/** A part of the pick screen the template does not paint (it only shows with data). */
function addPart(after, tag, name, className) {
  const node = el(tag, className);
  node.dataset.part = name;
  node.hidden = true;
  after.after(node);
  return node;
}

export function pickScreen(boot, root) {
  const screen = root;
  const main = root.querySelector('main');
  const card = part(root, 'card');
  const status = part(root, 'status');
  const done = part(root, 'done');
  const log = part(root, 'log');
  const left = addPart(card, 'section', 'left', 'pick-left');
  const summary = el('p', 'pick-summary');
  summary.dataset.part = 'summary';
  done.querySelector('.empty-title').after(summary);
  let taskId = null;
  let detail = null;
  let rows = []; // this task's outbox rows
  let optimistic = []; // queued this instant, not yet in IndexedDB
  let binOk = null; // the bin code confirmed for the current line
  let itemCode = null; // the item code scanned for the current line
  let fetching = false;

  const mine = (row) => row.task_id === taskId;

  /** Units this device sent for a line that the saved line does not count yet. */
  function queuedOn(line) {
    const n = { qty: 0, short: 0 };
    const mark = detail ? detail.mark || 0 : 0;
    for (const row of [...rows, ...optimistic]) {
      if (row.name !== 'pick.confirm' || row.args.task_line_id !== line.id) continue;
      const counts = row.status === 'pending' || (row.id > mark
        && (row.status === 'synced' || row.status === 'conflict'));
      if (counts) {
        n.qty += row.args.qty || 0;
        n.short += row.args.short || 0;
      }
    }
    return n;
  }
  const queued = (line) => { const n = queuedOn(line); return n.qty + n.short; };
  const open = (line) => Math.max(0, line.open_quantity - queued(line));
  /** What can still be taken or reported short on the line. */
  const pickable = (line) => Math.min(open(line),
    Math.max(0, (line.to_pick ?? line.open_quantity) - queued(line)));
  /** Open units that can no longer be taken: they can only be closed short. */
  const stuck = (line) => open(line) - pickable(line);
  const listOpen = () => Boolean(detail) && OPEN.has(detail.status);
  const current = () => (listOpen() ? (detail.lines || []).find((line) => pickable(line) > 0) : null);
  const leftOver = () => (listOpen() ? (detail.lines || []).filter((line) => stuck(line) > 0) : []);

  function renderLeft(lines) {
    left.hidden = !lines.length;
    if (!lines.length) return;
    const items = lines.map((line) => {
      const li = el('li', 'pick-left-line');
      li.dataset.lineId = String(line.id);
      li.append(el('span', 'pick-left-where', `${line.bin_code} · ${line.sku_code}`));
      li.append(el('span', 'pick-left-why', t('floor.left_why', {
        n: number(stuck(line)), status: t(`order_status.${line.order_status}`),
      })));
      const close = el('button', 'btn btn-warn', t('floor.close_short'));
      close.type = 'button';
      close.dataset.close = String(line.id);
      li.append(close);
      return li;
    });
    left.replaceChildren(el('h2', 'log-title', t('floor.left_title')),
      el('p', 'muted', t('floor.left_hint')), el('ul', 'pick-left-lines'));
    left.querySelector('ul').append(...items);
  }

  function renderSummary() {
    let picked = 0;
    let short = 0;
    for (const line of (detail && detail.lines) || []) {
      const n = queuedOn(line);
      picked += line.quantity_done + n.qty;
      short += line.quantity_short + n.short;
    }
    summary.textContent = t('floor.done_summary', { picked: number(picked), short: number(short) });
    done.dataset.short = String(short);
  }

  function render() {
    part(root, 'task-no').textContent = taskId ? `#${taskId}` : '';
    if (!detail) {
      card.hidden = true;
      done.hidden = true;
      left.hidden = true;
      status.hidden = false;
      status.textContent = isOnline() ? t('common.loading') : t('floor.not_saved');
      return;
    }
    status.hidden = true;
    const line = current();
    const rest = leftOver();
    renderLeft(line ? [] : rest);
    card.hidden = !line;
    done.hidden = Boolean(line) || rest.length > 0;
    main.dataset.line = line ? String(line.id) : '';
    if (!line) {
      if (rest.length) setPrompt(screen, t('floor.left_prompt', { n: rest.length }));
      else {
        renderSummary();
        setPrompt(screen, t('floor.pick_done'));
      }
      focusScan();
      return;
    }
    const lines = detail.lines || [];
    part(root, 'progress').textContent = t('floor.line_of', { n: lines.indexOf(line) + 1, total: lines.length });
    part(root, 'bin').textContent = line.bin_code;
    part(root, 'sku').textContent = line.sku_code;
    part(root, 'name').textContent = line.sku_name;
    part(root, 'qty-done').textContent = number(line.quantity - open(line));
    part(root, 'qty').textContent = number(line.quantity);
    card.dataset.step = binOk === line.bin_code ? 'item' : 'bin';
    setPrompt(screen, binOk === line.bin_code
      ? t('floor.scan_item', { sku: line.sku_code, n: pickable(line) })
      : t('floor.scan_bin', { bin: line.bin_code }));
    focusScan();
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
      if (error instanceof ApiError && error.status === 404) status.textContent = t('floor.task_gone');
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

  /**
   * The line the keypad was opened for, if it is still the one to work on. Compared by
   * id: while the keypad is open the task may be fetched again (a sync lands), and the
   * fresh detail has new line objects for the same lines; the number typed still counts.
   */
  function stillCurrent(line) {
    const now = current();
    return now && now.id === line.id ? now : null;
  }

  const matchesItem = (line, code) => sameCode(line.sku_code, code)
    || (line.barcodes || []).some((b) => sameCode(b, code));

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
    // The next line in another bin starts with its bin again (location first).
    const next = current();
    if (next && next.bin_code !== line.bin_code) binOk = null;
    if (!next || next.id !== line.id) itemCode = null;
  }

  function onScan(value) {
    const line = current();
    if (!line) {
      feedback(root, false, !detail ? t('floor.not_saved')
        : leftOver().length ? t('floor.left_prompt', { n: leftOver().length }) : t('floor.pick_done'));
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
      } else if (isItem) {
        feedback(root, false, t('floor.scan_bin_first', { bin: line.bin_code }));
      } else {
        feedback(root, false, t('floor.wrong_bin', { bin: line.bin_code, code: value }));
      }
      return;
    }
    if (isBin) {
      feedback(root, true, t('floor.scan_item', { sku: line.sku_code, n: pickable(line) }));
      return;
    }
    if (!isItem) {
      feedback(root, false, t('floor.wrong_item', { sku: line.sku_code, code: value }));
      return;
    }
    itemCode = value;
    take(line, { task_line_id: line.id, bin: line.bin_code, sku: value, qty: 1 },
      t('floor.picked_one', { sku: line.sku_code, n: pickable(line) - 1 }));
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
    const max = pickable(line);
    const n = await keypad(t('floor.how_many', { sku: line.sku_code, max }), { max });
    const still = stillCurrent(line);
    if (n && still) {
      take(still, { task_line_id: still.id, bin: still.bin_code, sku: itemCode, qty: n },
        t('floor.picked_n', { sku: still.sku_code, n }));
    }
  });

  part(root, 'short').addEventListener('click', async () => {
    const line = current();
    if (!line) return;
    if (binOk !== line.bin_code) {
      feedback(root, false, t('floor.scan_bin_first', { bin: line.bin_code }));
      return;
    }
    const max = pickable(line);
    const n = await keypad(t('floor.how_many_short', { sku: line.sku_code, bin: line.bin_code, max }), { max });
    const still = stillCurrent(line);
    if (n && still) {
      take(still, { task_line_id: still.id, bin: still.bin_code, sku: still.sku_code, qty: 0, short: n },
        t('floor.short_noted', { n }));
    }
  });

  // Units that can no longer be taken are closed short: nothing to scan for them.
  left.addEventListener('click', (event) => {
    const button = event.target.closest('[data-close]');
    const line = button && (detail.lines || []).find((l) => l.id === Number(button.dataset.close));
    if (!line || !stuck(line)) return;
    const n = stuck(line);
    take(line, { task_line_id: line.id, bin: line.bin_code, sku: line.sku_code, qty: 0, short: n },
      t('floor.closed_short', { n, sku: line.sku_code }));
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
    show(params) { focusScan(); load(params.id); },
    rerender: render,
    refresh: refreshDetail,
    current: () => current(),
  };
}
