/**
 * Child process of test/hostile.test.ts: scans the folder given as argv[2] with the CLI's own code (snapshot, then
 * every CPU check) and prints `{ report, scanMs, maxRssKb }`: the scan's wall time without module loading, and
 * the peak resident memory of the whole process (process.resourceUsage().maxRSS).
 */
import { loadConfig } from '../lib/config.ts';
import { openTarget, scanSnapshot } from '../lib/scan.ts';

const started = performance.now();
const cfg = loadConfig({});
const opened = await openTarget({ kind: 'dir', path: process.argv[2] }, { hubUrl: cfg.hubUrl }, cfg.maxFileBytes);
const report = await scanSnapshot(opened, {});
const scanMs = performance.now() - started;
process.stdout.write(JSON.stringify({ report, scanMs, maxRssKb: process.resourceUsage().maxRSS }));
