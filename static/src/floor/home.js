// The picker's home: my tasks, drawn by the same code from the same saved data as
// the task list (floor/tasks.js), so the two always agree, with "Release a wave"
// when nothing waits for me; and the scan field at the bottom, keeping the focus.
// Every scan is kept on the device (scan.js); a bin that one of my pick lists goes
// to opens that list.
import { currentLocale, t } from '../i18n.js';
import { el, number } from '../format.js';
import { isOnline } from '../net.js';
import { acknowledge, bindScanField, keepScan, recentScans } from '../scan.js';
import { syncNow } from '../sync.js';
import { openPickAt, taskList } from './tasks.js';

const $ = (id) => document.getElementById(id);

export function pickerHome(boot, root) {
  const input = $('scan-input');
  const lastBox = $('last-scan-box');
  const last = $('scan-last');
  const log = $('scan-log');
  const kept = $('scan-kept');
  const tasks = root && root.querySelector('[data-part="list"]') ? taskList(boot, root) : null;
  let total = 0;
  let recent = [];

  function render() {
    log.replaceChildren(...recent.map((scan) => {
      const li = el('li', 'scan-item');
      li.append(el('span', 'scan-value', scan.value));
      li.append(el('time', 'scan-time', new Date(scan.at).toLocaleTimeString(currentLocale())));
      return li;
    }));
    kept.textContent = total ? t('scan.kept', { n: number(total) }) : '';
  }

  function onScan(value) {
    // Shown at once, before the write to IndexedDB: the answer must not wait.
    delete last.dataset.i18n;
    last.textContent = value;
    acknowledge(lastBox);
    const scan = { value, at: new Date().toISOString() };
    recent = [scan, ...recent].slice(0, 5);
    total += 1;
    render();
    keepScan(boot.id, value).catch((error) => console.error('scan not kept', error));
    openPickAt(boot, value).catch(() => {});
  }

  bindScanField(input, { onScan, keyboardButton: $('scan-keyboard') });
  recentScans(boot.id).then((saved) => {
    total = saved.total;
    recent = saved.recent;
    if (recent.length) {
      delete last.dataset.i18n;
      last.textContent = recent[0].value;
    }
    render();
  }).catch(() => {});
  return {
    show() {
      input.focus({ preventScroll: true });
      if (tasks) tasks.render();
      if (isOnline()) syncNow();
    },
    rerender() { render(); if (tasks) tasks.render(); },
    refresh: () => syncNow(),
  };
}
