import fs from 'node:fs';
import { ensureDebianTool } from './debian';

/**
 * Headless Chromium for the dashboard's browser tests: any binary the user points at (`CHROMIUM`), then
 * `chromium` on PATH or at /usr/bin/chromium, else Debian's `chromium` package installed once with apt-get
 * (as root, as CI runs). No browser is ever downloaded by a tool: puppeteer-core only drives this binary.
 */
export const CHROMIUM_ENV = 'CHROMIUM';

export interface EnsuredChromium {
  path: string;
  source: 'CHROMIUM' | 'PATH' | 'debian' | 'installed';
  installSeconds?: number;
}

export function ensureChromium(opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): EnsuredChromium {
  const env = opts.env ?? process.env;
  const named = env[CHROMIUM_ENV]?.trim();
  if (named) {
    if (!fs.existsSync(named)) throw new Error(`${CHROMIUM_ENV}=${named}: no such file`);
    return { path: named, source: 'CHROMIUM' };
  }
  return ensureDebianTool({ binary: 'chromium', debianPackage: 'chromium', env, log: opts.log, hint: `or point ${CHROMIUM_ENV} at one` });
}
