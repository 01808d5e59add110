import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Browser, chromium } from 'playwright-core';

/** The flags every run of the console's browser tests and benchmark uses (headless, no sandbox: CI runs as root). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];

/** Debian's `chromium` binary, found on PATH (no browser is downloaded: `.ci/run` installs the package). */
export function chromiumOnPath(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'chromium');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error("chromium is not on PATH: install Debian's chromium package (apt-get install -y chromium)");
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumOnPath(), headless: true, args: CHROMIUM_FLAGS });
}
