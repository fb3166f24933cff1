import { open, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { ByteSource, SourceFile } from './byte-source.ts';
import { SourceError } from './byte-source.ts';
import { chunkBufferPool } from './buffer-pool.ts';

/** A byte source over a local model folder (what `hubwatch scan ./dir` reads). */
export class LocalFolderSource implements ByteSource {
  readonly label: string;
  constructor(private readonly root: string) {
    this.label = root;
  }

  private skipped: { path: string; reason: string }[] = [];
  private allowed: Promise<string[]> | null = null;

  /**
   * Real paths a file may live under: the folder, and for a Hugging Face cache snapshot
   * (`models--org--name/snapshots/<rev>/`, whose files are symlinks to `../../blobs/<hash>`) the repo's blobs folder.
   */
  private allowedRoots(): Promise<string[]> {
    return (this.allowed ??= (async () => {
      const root = await realpath(this.root);
      const roots = [root];
      if (basename(dirname(root)) === 'snapshots') {
        const blobs = await realpath(resolve(root, '../../blobs')).catch(() => null);
        if (blobs) roots.push(blobs);
      }
      return roots;
    })());
  }

  /** The real path of an entry when it stays inside the allowed roots, else null. */
  private async inside(p: string): Promise<string | null> {
    const real = await realpath(p).catch(() => null);
    if (real === null) return null;
    return (await this.allowedRoots()).some((r) => real === r || real.startsWith(r + sep)) ? real : null;
  }

  /** Symlinks not followed and special files, with the reason (after listFiles()). */
  skippedFiles(): { path: string; reason: string }[] {
    return [...this.skipped];
  }

  async listFiles(): Promise<SourceFile[]> {
    const out: SourceFile[] = [];
    this.skipped = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.name === '.git' || e.name === '.cache') continue;
        const p = join(dir, e.name);
        const rel = relative(this.root, p).split(sep).join('/');
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) out.push({ path: rel, size: (await stat(p)).size });
        else if (e.isSymbolicLink()) {
          // Followed only to a regular file inside the folder (or the HF cache's blobs): never out of it.
          const real = await this.inside(p);
          const st = real ? await stat(real) : null;
          if (st?.isFile()) out.push({ path: rel, size: st.size });
          else
            this.skipped.push({
              path: rel,
              reason: real
                ? 'symbolic link to a directory, not followed'
                : 'symbolic link out of the folder (or dangling), not followed',
            });
        } else this.skipped.push({ path: rel, reason: 'not a regular file (socket, FIFO or device), not read' });
      }
    };
    try {
      await walk(this.root);
    } catch (e) {
      throw new SourceError(`cannot list ${this.root}: ${(e as Error).message}`);
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** The real path of a listed file; throws for `..`, absolute paths and anything that leaves the folder. */
  private async resolve(path: string): Promise<string> {
    if (path.startsWith('/') || path.split('/').includes('..')) throw new SourceError(`invalid path ${path}`, path);
    const real = await this.inside(join(this.root, path));
    if (real === null) throw new SourceError(`${path} is not inside ${this.root}`, path);
    return real;
  }

  async readRange(path: string, start: number, end: number): Promise<Uint8Array> {
    if (!(start >= 0 && end >= start)) throw new SourceError(`invalid range ${start}-${end} of ${path}`, path);
    // A pooled buffer (tensor-stats.ts gives chunk buffers back): a zero-filled allocation per 4 MiB chunk cost
    // page faults and GC unmapping on every read of a 1 GB tensor. Every byte is overwritten or we throw.
    const buf = chunkBufferPool.take(end - start);
    await this.readRangeInto(path, start, buf);
    return buf;
  }

  async readRangeInto(path: string, start: number, into: Uint8Array): Promise<void> {
    const end = start + into.byteLength;
    if (!(start >= 0)) throw new SourceError(`invalid range ${start}-${end} of ${path}`, path);
    let fh;
    try {
      fh = await open(await this.resolve(path), 'r');
    } catch (e) {
      throw new SourceError(`cannot open ${path}: ${(e as Error).message}`, path);
    }
    try {
      let off = 0;
      while (off < into.byteLength) {
        const { bytesRead } = await fh.read(into, off, into.byteLength - off, start + off);
        if (bytesRead === 0)
          throw new SourceError(`short read of ${path}: wanted ${start}-${end}, file ends at ${start + off}`, path);
        off += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }

  async readText(path: string): Promise<string> {
    try {
      return await readFile(await this.resolve(path), 'utf8');
    } catch (e) {
      throw new SourceError(`cannot read ${path}: ${(e as Error).message}`, path);
    }
  }

  async *stream(path: string, start: number, end: number): AsyncIterable<Uint8Array> {
    const fh = await open(await this.resolve(path), 'r').catch((e: Error) => {
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
