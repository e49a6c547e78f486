// The device's IndexedDB, one database for the page and the service worker:
//   scans       raw scans of the picker's home (scan.js)
//   outbox      floor mutations, numbered 1, 2, 3 … per user of this device, keyed
//               [user_id, id] (outbox.js): a shared handheld keeps one queue per person
//   meta        device_id:<user>, next_id:<user>, server_last:<user>, the pull cursor
//   tasks       open tasks of my warehouse, as the last pull gave them
//   stock       stock rows of my scope, as the last pull gave them
//   task_lines  a pick task with its lines in walking order (GET /api/tasks/<id>)
//   proof_files the driver's photos and signatures by sha256, {sha256, user_id, type,
//               blob, uploaded}, kept until the server has them (driver/store.js)
import { openDB } from 'idb';

let dbPromise = null;

export function db() {
  dbPromise = dbPromise || openDB('haicang', 4, {
    async upgrade(database, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        const scans = database.createObjectStore('scans', { keyPath: 'id', autoIncrement: true });
        scans.createIndex('by_user', 'user_id');
      }
      if (oldVersion < 2) {
        database.createObjectStore('meta', { keyPath: 'key' });
        database.createObjectStore('tasks', { keyPath: 'id' });
        database.createObjectStore('stock', { keyPath: 'id' });
        database.createObjectStore('task_lines', { keyPath: 'id' });
      }
      if (oldVersion < 3) {
        // One queue per user: rows keyed [user_id, id]. Rows of version 2 belong to
        // nobody yet (user_id 0): the next user to log in claims them (outbox.js).
        const had = database.objectStoreNames.contains('outbox');
        const old = had ? await tx.objectStore('outbox').getAll() : [];
        if (had) database.deleteObjectStore('outbox');
        const outbox = database.createObjectStore('outbox', { keyPath: ['user_id', 'id'] });
        outbox.createIndex('by_status', 'status');
        outbox.createIndex('by_user_status', ['user_id', 'status']);
        for (const row of old) await outbox.put({ ...row, user_id: 0 });
      }
      if (oldVersion < 4) {
        const files = database.createObjectStore('proof_files', { keyPath: 'sha256' });
        files.createIndex('by_uploaded', 'uploaded');
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
