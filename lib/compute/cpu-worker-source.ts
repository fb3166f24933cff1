/**
 * The worker-thread side of the CPU backend, as plain JavaScript source run with `eval: true`: it needs no
 * TypeScript loader, so a worker is ready in tens of milliseconds (a .ts entry loaded through tsx took ~0.25 CPU s).
 * It receives the compiled kernel module in workerData and, per message, a chunk (its buffer transferred), runs the
 * SIMD kernel over it and posts back the per-row accumulators and the chunk's buffer; the main thread reduces them
 * (row-kernel-wasm.ts reduceAccumulators).
 */
import { OUT_ROW_BYTES } from './row-kernel-wasm.ts';

export const CPU_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ex = new WebAssembly.Instance(workerData.module, {}).exports;
const fns = { BF16: ex.bf16, F16: ex.f16, F32: ex.f32 };
const OUT_ROW_BYTES = ${OUT_ROW_BYTES};
parentPort.on('message', ({ id, data, dtype, rows, rowBytes }) => {
  try {
    const inBytes = rows * rowBytes;
    const outPtr = Math.ceil(inBytes / 16) * 16;
    const need = outPtr + rows * OUT_ROW_BYTES;
    if (need > ex.mem.buffer.byteLength) ex.mem.grow(Math.ceil((need - ex.mem.buffer.byteLength) / 65536));
    new Uint8Array(ex.mem.buffer, 0, inBytes).set(data.subarray(0, inBytes));
    fns[dtype](0, rows, rowBytes, outPtr);
    const acc = ex.mem.buffer.slice(outPtr, need);
    parentPort.postMessage({ id, acc, data }, [acc, data.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e), data }, [data.buffer]);
  }
});
`;
