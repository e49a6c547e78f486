// The device's IndexedDB, one database for the page and the service worker:
//   scans       raw scans of the picker's home (scan.js)
//   outbox      floor mutations, numbered 1, 2, 3 … per device (outbox.js)
//   meta        device_id, the next mutation id, the pull cursor
//   tasks       open tasks of my warehouse, as the last pull gave them
//   stock       stock rows of my scope, as the last pull gave them
//   task_lines  a pick task with its lines in walking order (GET /api/tasks/<id>)
import { openDB } from 'idb';

let dbPromise = null;

export function db() {
  dbPromise = dbPromise || openDB('haicang', 2, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) {
        const scans = database.createObjectStore('scans', { keyPath: 'id', autoIncrement: true });
        scans.createIndex('by_user', 'user_id');
      }
      if (oldVersion < 2) {
        const outbox = database.createObjectStore('outbox', { keyPath: 'id' });
        outbox.createIndex('by_status', 'status');
        database.createObjectStore('meta', { keyPath: 'key' });
        database.createObjectStore('tasks', { keyPath: 'id' });
        database.createObjectStore('stock', { keyPath: 'id' });
        database.createObjectStore('task_lines', { keyPath: 'id' });
      }
    },
    blocking() {
      // A newer version of the app wants to upgrade: let it.
      dbPromise?.then((d) => d.close());
      dbPromise = null;
    },
  });
  return dbPromise;
}

export async function getMeta(key, fallback = null) {
  const row = await (await db()).get('meta', key);
  return row ? row.value : fallback;
}

export async function setMeta(key, value) {
  await (await db()).put('meta', { key, value });
}
