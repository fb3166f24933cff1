// Entry of the template render worker thread. Node 20 does not hand a parent's TypeScript loader to worker
// threads, so the worker registers tsx itself and then loads the typed worker module named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
