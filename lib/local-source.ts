import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { ByteSource, SourceFile } from './byte-source.ts';
import { SourceError } from './byte-source.ts';
import { chunkBufferPool } from './buffer-pool.ts';

/** A byte source over a local model folder (what `hubwatch scan ./dir` reads). */
export class LocalFolderSource implements ByteSource {
  readonly label: string;
  constructor(private readonly root: string) {
    this.label = root;
  }

  async listFiles(): Promise<SourceFile[]> {
    const out: SourceFile[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.name === '.git' || e.name === '.cache') continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile())
          out.push({ path: relative(this.root, p).split(sep).join('/'), size: (await stat(p)).size });
      }
    };
    try {
      await walk(this.root);
    } catch (e) {
      throw new SourceError(`cannot list ${this.root}: ${(e as Error).message}`);
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  private resolve(path: string): string {
    if (path.split('/').includes('..')) throw new SourceError(`invalid path ${path}`, path);
    return join(this.root, path);
  }

  async readRange(path: string, start: number, end: number): Promise<Uint8Array> {
    if (!(start >= 0 && end >= start)) throw new SourceError(`invalid range ${start}-${end} of ${path}`, path);
    let fh;
    try {
      fh = await open(this.resolve(path), 'r');
    } catch (e) {
      throw new SourceError(`cannot open ${path}: ${(e as Error).message}`, path);
    }
    try {
      // A pooled buffer (tensor-stats.ts gives chunk buffers back): a zero-filled allocation per 4 MiB chunk cost
      // page faults and GC unmapping on every read of a 1 GB tensor. Every byte is overwritten below or we throw.
      const buf = chunkBufferPool.take(end - start);
      let off = 0;
      while (off < buf.length) {
        const { bytesRead } = await fh.read(buf, off, buf.length - off, start + off);
        if (bytesRead === 0)
          throw new SourceError(`short read of ${path}: wanted ${start}-${end}, file ends at ${start + off}`, path);
        off += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  async readText(path: string): Promise<string> {
    try {
      return await readFile(this.resolve(path), 'utf8');
    } catch (e) {
      throw new SourceError(`cannot read ${path}: ${(e as Error).message}`, path);
    }
  }

  async *stream(path: string, start: number, end: number): AsyncIterable<Uint8Array> {
    const fh = await open(this.resolve(path), 'r').catch((e: Error) => {
      throw new SourceError(`cannot open ${path}: ${e.message}`, path);
    });
    try {
      const chunk = 4 << 20;
      for (let pos = start; pos < end;) {
        const buf = Buffer.allocUnsafe(Math.min(chunk, end - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) throw new SourceError(`short read of ${path} at ${pos}`, path);
        pos += bytesRead;
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }
}
