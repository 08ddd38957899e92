// Files that are either absent, the old version or the complete new version,
// never half-written: write a temporary file beside the target, flush it to
// disk, then rename it over the target (rename is atomic within a filesystem
// on POSIX). A run killed mid-write leaves at most a stray hidden temporary.
import { randomBytes } from 'node:crypto';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** The temporary name for a target: hidden, in the same folder, unique per process and call. */
export function temporaryPath(path: string): string {
  const target = resolve(path);
  return join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Runs write(temporary) and moves the result onto path; on failure the
 * temporary is removed and path is untouched.
 */
export async function replaceFile(path: string, write: (temporary: string) => void | Promise<void>): Promise<void> {
  const temporary = temporaryPath(path);
  try {
    await write(temporary);
    const handle = await open(temporary, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, resolve(path));
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await replaceFile(path, (temporary) => writeFile(temporary, data));
}
