// The floor screens (pickers and admins): my tasks, pick, receive, put away / move,
// count, ship, pack and exceptions, one module per screen under static/src/floor/
// (what they share is in floor/common.js). Every screen renders from what is kept
// on the device (IndexedDB: tasks, task_lines, outbox), so it works in an aisle with
// no Wi-Fi; every scan is checked on the device at once (tone, vibration, colour),
// becomes a mutation in the outbox, and shows as pending, synced, conflict or rejected.
export { tasksScreen } from './floor/tasks.js';
export { pickScreen } from './floor/pick.js';
export { countScreen, moveScreen, receiveScreen, shipScreen } from './floor/flows.js';
export { packScreen } from './floor/pack.js';
export { exceptionsScreen } from './floor/exceptions.js';
