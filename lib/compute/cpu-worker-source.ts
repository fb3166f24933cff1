/**
 * The worker-thread side of the CPU backend, as plain JavaScript source run with `eval: true`: it needs no
 * TypeScript loader, so a worker is ready in tens of milliseconds (a .ts entry loaded through tsx took ~0.25 CPU s).
 * It receives the compiled kernel modules in workerData and, per message, whole rows of a chunk in one of three forms:
 * - in a shared WebAssembly.Memory from the buffer pool (`mem`): the kernel runs over the rows where they lie, no
 *   copy, writing its accumulators to this worker's part of the memory's scratch space (SCRATCH_ROWS rows at a
 *   time), from where they are collected; the instance over each memory is kept (the last MEMORIES memories);
 * - a transferred ArrayBuffer, posted back with the result so the caller can reuse it;
 * - a view of another SharedArrayBuffer (nothing to post back).
 * The last two are copied once into the kernel's own memory (WebAssembly reads only its memory). It posts back the
 * per-row accumulators; the main thread reduces them (row-kernel-wasm.ts reduceAccumulators). At start it posts its
 * kernel thread id (Linux /proc/thread-self, for per-thread CPU figures; null elsewhere).
 */
import { OUT_ROW_BYTES } from './row-kernel-wasm.ts';

/** Rows per kernel call over a shared memory: this worker's scratch part holds their accumulators. */
export const SCRATCH_ROWS = 64;
/** Bytes of one worker's part of a shared memory's scratch space. */
export const SCRATCH_PART_BYTES = SCRATCH_ROWS * OUT_ROW_BYTES;

export const CPU_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ex = new WebAssembly.Instance(workerData.module, {}).exports;
const fns = { BF16: ex.bf16, F16: ex.f16, F32: ex.f32 };
const OUT_ROW_BYTES = ${OUT_ROW_BYTES};
const SCRATCH_ROWS = ${SCRATCH_ROWS};
const MEMORIES = 64;
const instances = new Map();
let tid = null;
try {
  tid = Number(require('node:fs').readFileSync('/proc/thread-self/stat', 'latin1').split(' ')[0]) || null;
} catch {}
parentPort.postMessage({ tid });

function inPlace({ mem, memId, offset, dtype, rows, rowBytes, outPtr }) {
  let inst = instances.get(memId);
  if (inst) instances.delete(memId);
  else inst = new WebAssembly.Instance(workerData.sharedModule, { env: { mem } }).exports;
  instances.set(memId, inst);
  if (instances.size > MEMORIES) instances.delete(instances.keys().next().value);
  const fn = inst[dtype.toLowerCase()];
  const acc = new ArrayBuffer(rows * OUT_ROW_BYTES);
  const out = new Uint8Array(acc);
  const scratch = new Uint8Array(mem.buffer, outPtr, SCRATCH_ROWS * OUT_ROW_BYTES);
  for (let r = 0; r < rows; r += SCRATCH_ROWS) {
    const n = Math.min(SCRATCH_ROWS, rows - r);
    fn(offset + r * rowBytes, n, rowBytes, outPtr);
    out.set(n === SCRATCH_ROWS ? scratch : scratch.subarray(0, n * OUT_ROW_BYTES), r * OUT_ROW_BYTES);
  }
  return acc;
}

function copied({ data, dtype, rows, rowBytes }) {
  const inBytes = rows * rowBytes;
  const outPtr = Math.ceil(inBytes / 16) * 16;
  const need = outPtr + rows * OUT_ROW_BYTES;
  if (need > ex.mem.buffer.byteLength) ex.mem.grow(Math.ceil((need - ex.mem.buffer.byteLength) / 65536));
  new Uint8Array(ex.mem.buffer, 0, inBytes).set(data.subarray(0, inBytes));
  fns[dtype](0, rows, rowBytes, outPtr);
  return ex.mem.buffer.slice(outPtr, need);
}

parentPort.on('message', (m) => {
  const data = m.data && m.data.buffer instanceof ArrayBuffer ? m.data : null;
  const back = data ? [data.buffer] : [];
  try {
    const acc = m.mem ? inPlace(m) : copied(m);
    parentPort.postMessage({ id: m.id, acc, data }, [acc, ...back]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e), data }, back);
  }
});
`;
