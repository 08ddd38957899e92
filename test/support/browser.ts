// Debian's Chromium (installed by `npm run setup`), headless with WebGPU, for
// the tests that run the engine in a real browser.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = process.env.HANDSCAN_CHROMIUM ?? '/usr/bin/chromium';

// Chromium 156 with these gives SwiftShader's Vulkan adapter (subgroups,
// timestamp queries) on a machine without a GPU; the rest keep a headless run
// quiet and offline.
const ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=vulkan',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Launches headless Chromium; puppeteer gives each launch a fresh temporary profile (--user-data-dir) and removes it on close. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run \`npm run setup\` (it installs Debian's chromium package)`);
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}
