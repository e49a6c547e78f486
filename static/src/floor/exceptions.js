// Exceptions: my conflicts and rejected scans, and the open exceptions a supervisor
// resolves. Resolving a short pick closes its pick line (server/warehouse/services.py),
// so the pick list it was on finishes.
import { api, NetworkError } from '../api.js';
import { t } from '../i18n.js';
import { el, toast } from '../format.js';
import { localRows, onOutboxChange, outboxRows } from '../outbox.js';
import { syncNow } from '../sync.js';
import { bindAcks, logItem, OPEN, part } from './common.js';

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
      const { data } = await api(`/api/tasks/${button.dataset.resolve}/resolve`, { method: 'POST', body: { note: '' } });
      // A short pick's exception closes its pick line: say what it closed.
      const closed = ((data && data.data && data.data.closed_short) || [])
        .reduce((sum, c) => sum + (c.units || 0), 0);
      toast(closed ? t('floor.resolved_closed', { n: closed }) : t('floor.resolved'));
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
