// My tasks: the pick lists of my warehouse (open ones, and claimed ones: mine say
// so) and the exceptions waiting for a supervisor, from the data kept on the
// device. The picker's home and the task list are the same list, drawn by the
// same code, so they never disagree.
import { api, NetworkError } from '../api.js';
import { t } from '../i18n.js';
import { el, number, toast } from '../format.js';
import { isOnline } from '../net.js';
import { localRows, onOutboxChange } from '../outbox.js';
import { keepTaskDetail, syncNow } from '../sync.js';
import {
  bindScanBar, feedback, focusScan, OPEN, part, sameCode, setPrompt,
} from './common.js';

/** What the device knows of my work: open and claimed pick lists, open exceptions. */
export async function myWork() {
  const tasks = (await localRows('tasks')).filter((task) => OPEN.has(task.status));
  return {
    picks: tasks.filter((task) => task.kind === 'pick').sort((a, b) => a.id - b.id),
    exceptions: tasks.filter((task) => task.kind === 'exception'),
  };
}

function pickItem(boot, task) {
  const li = el('li', 'task-item');
  const a = el('a', 'task-link');
  a.href = `/floor/pick/${task.id}`;
  a.dataset.taskId = String(task.id);
  a.dataset.status = task.status;
  a.append(el('span', 'task-kind', `${t('floor.pick_title')} #${task.id}`));
  a.append(el('span', 'task-title', task.title || ''));
  const mine = task.assigned_user_id === boot.id;
  a.append(el('span', `task-state task-${task.status}`, task.status === 'claimed'
    ? (mine ? t('floor.claimed_by_me') : t('floor.claimed')) : t('floor.open')));
  li.append(a);
  return li;
}

function exceptionsItem(exceptions) {
  const li = el('li', 'task-item');
  const a = el('a', 'task-link task-exceptions');
  a.href = '/floor/exceptions';
  a.append(el('span', 'task-kind', t('floor.exceptions_title')));
  a.append(el('span', 'task-title', t('floor.n_exceptions', { n: number(exceptions.length) })));
  li.append(a);
  return li;
}

/**
 * The task list in `root` (the tasks screen, or the picker's home): its parts are
 * list, empty and wave (and status, hidden once drawn). "Release a wave" shows
 * whenever no pick list waits for me (none open, none claimed by me); lists other
 * pickers claimed do not hide it. `onRender` runs after each drawing.
 */
export function taskList(boot, root, { onRender } = {}) {
  const list = part(root, 'list');
  const empty = part(root, 'empty');
  const status = part(root, 'status');
  const wave = part(root, 'wave');

  async function render() {
    const { picks, exceptions } = await myWork();
    if (status) status.hidden = true;
    list.replaceChildren(...picks.map((task) => pickItem(boot, task)));
    if (exceptions.length) list.append(exceptionsItem(exceptions));
    empty.hidden = picks.length > 0;
    const waiting = picks.filter((task) => task.status === 'open' || task.assigned_user_id === boot.id);
    wave.hidden = waiting.length > 0;
    root.dataset.picks = String(picks.length);
    root.dataset.exceptions = String(exceptions.length);
    if (onRender) onRender({ picks, exceptions });
  }

  wave.addEventListener('click', async () => {
    const warehouse = (boot.warehouses || [])[0];
    if (!warehouse) { toast(t('floor.no_warehouse')); return; }
    wave.disabled = true;
    try {
      const { data } = await api('/api/waves', { method: 'POST', body: { warehouse_id: warehouse.id, max_orders: 20 } });
      // The answer is the whole pick list: kept on the device at once, so the pick
      // screen opens with its first stop, scan field focused, before any sync.
      await keepTaskDetail(data);
      boot.router.navigate(`/floor/pick/${data.id}`);
      syncNow();
    } catch (error) {
      toast(error instanceof NetworkError ? t('err.offline_action')
        : (error.message || t('err.server', { status: error.status || '?' })));
    } finally {
      wave.disabled = false;
      focusScan();
    }
  });
  onOutboxChange((kind) => { if (kind === 'data') render(); });
  return { render };
}

/** Scanning a bin where my tasks are listed opens the pick list that goes there.
 * Answers whether it did. */
export async function openPickAt(boot, value) {
  const saved = await localRows('task_lines');
  for (const task of saved) {
    if (!OPEN.has(task.status)) continue;
    if ((task.lines || []).some((line) => line.open_quantity > 0 && sameCode(line.bin_code, value))) {
      boot.router.navigate(`/floor/pick/${task.id}`);
      return true;
    }
  }
  return false;
}

/** My tasks: the task list with its scan bar. */
export function tasksScreen(boot, root) {
  const screen = root;
  let shown = false;
  const tasks = taskList(boot, root, {
    onRender() { if (shown) setPrompt(screen, t('floor.tasks_prompt')); },
  });

  async function onScan(value) {
    if (await openPickAt(boot, value)) feedback(root, true, value);
    else feedback(root, false, t('floor.nothing_at', { code: value }));
  }
  bindScanBar(boot, screen, onScan);
  return {
    show() {
      shown = true;
      focusScan();
      tasks.render();
      if (isOnline()) syncNow();
    },
    hide() { shown = false; },
    rerender: tasks.render,
    refresh: () => syncNow(),
  };
}
