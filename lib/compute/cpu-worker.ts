/**
 * Worker-thread entry of the CPU backend: receives row-aligned chunks (their buffers transferred, not copied),
 * computes per-row statistics with the SIMD kernel (or the scalar one), and posts the statistics back.
 */
import { parentPort } from 'node:worker_threads';
import type { ChunkJob, ChunkStats } from './backend.ts';
import { computeChunk } from './cpu-kernels.ts';
import { WasmRowKernel } from './row-kernel-wasm.ts';

interface Request {
  id: number;
  job: ChunkJob;
}

const kernel = new WasmRowKernel();
const port = parentPort;
if (!port) throw new Error('cpu-worker.ts must run in a worker thread');

port.on('message', (msg: Request) => {
  try {
    const stats: ChunkStats = computeChunk(kernel, msg.job);
    // The chunk goes back too, so its buffer can be reused for the next read.
    stats.input = msg.job.data;
    const transfer = [stats.max.buffer, stats.absMax.buffer, stats.sum.buffer, stats.sumSq.buffer, stats.hash.buffer, msg.job.data.buffer] as ArrayBuffer[];
    port.postMessage({ id: msg.id, stats }, transfer);
  } catch (e) {
    port.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
