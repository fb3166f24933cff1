/**
 * The worker-thread side of the CPU backend, as plain JavaScript source run with `eval: true`: it needs no
 * TypeScript loader, so a worker is ready in tens of milliseconds (a .ts entry loaded through tsx took ~0.25 CPU s).
 * It receives the compiled kernel module in workerData and, per message, a slice of whole rows of a chunk: either a
 * transferred ArrayBuffer (posted back with the result, so the caller can reuse it) or a view of a SharedArrayBuffer
 * that other workers read other rows of at the same time (nothing to post back). It copies the rows into its kernel's
 * linear memory (the one copy: WebAssembly reads only its own memory), runs the SIMD kernel and posts back the
 * per-row accumulators; the main thread reduces them (row-kernel-wasm.ts reduceAccumulators). At start it posts
 * its kernel thread id (Linux /proc/thread-self, for per-thread CPU figures; null elsewhere).
 */
import { OUT_ROW_BYTES } from './row-kernel-wasm.ts';

export const CPU_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ex = new WebAssembly.Instance(workerData.module, {}).exports;
const fns = { BF16: ex.bf16, F16: ex.f16, F32: ex.f32 };
const OUT_ROW_BYTES = ${OUT_ROW_BYTES};
let tid = null;
try {
  tid = Number(require('node:fs').readFileSync('/proc/thread-self/stat', 'latin1').split(' ')[0]) || null;
} catch {}
parentPort.postMessage({ tid });
parentPort.on('message', ({ id, data, dtype, rows, rowBytes }) => {
  const back = data.buffer instanceof ArrayBuffer ? [data.buffer] : [];
  try {
    const inBytes = rows * rowBytes;
    const outPtr = Math.ceil(inBytes / 16) * 16;
    const need = outPtr + rows * OUT_ROW_BYTES;
    if (need > ex.mem.buffer.byteLength) ex.mem.grow(Math.ceil((need - ex.mem.buffer.byteLength) / 65536));
    new Uint8Array(ex.mem.buffer, 0, inBytes).set(data.subarray(0, inBytes));
    fns[dtype](0, rows, rowBytes, outPtr);
    const acc = ex.mem.buffer.slice(outPtr, need);
    parentPort.postMessage({ id, acc, data: back.length ? data : null }, [acc, ...back]);
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e), data: back.length ? data : null }, back);
  }
});
`;
