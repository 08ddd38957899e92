// The page's two files: web/scan.html, and its bundle web/dist/scan.js,
// which `npm run setup` builds (`npm run build:web`, scripts/build-web.ts).
// Routes are fixed names: no request path reaches the disk.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from './http.ts';

const WEB = fileURLToPath(new URL('../../web/', import.meta.url));

export const PAGE_FILES: Readonly<Record<string, { file: string; type: string; built?: true }>> = {
  '/': { file: join(WEB, 'scan.html'), type: 'text/html; charset=utf-8' },
  '/scan.js': { file: join(WEB, 'dist', 'scan.js'), type: 'text/javascript; charset=utf-8', built: true },
  '/scan.js.map': { file: join(WEB, 'dist', 'scan.js.map'), type: 'application/json', built: true },
};

/** The bytes of a page file. */
export async function pageFile(route: keyof typeof PAGE_FILES): Promise<Buffer> {
  const { file, built } = PAGE_FILES[route];
  try {
    return await readFile(file);
  } catch {
    throw new HttpError(404, `${file} is missing${built ? ' (npm run build:web makes it)' : ''}`);
  }
}
