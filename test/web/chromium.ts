// Debian's Chromium, headless, driven by playwright-core (Playwright's own browser downloads cannot be
// fetched here), with a fresh profile each launch. Without the background-networking switches the
// closed network makes Chromium hang at start. Shared by the page tests and bench/web.ts.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.RESNET_CHROMIUM ?? '/usr/bin/chromium';

/** Set by .ci/run: a missing Chromium then fails the browser tests instead of skipping them. */
export const BROWSER_REQUIRED = process.env.RESNET_REQUIRE_BROWSER === '1';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, or '' when they can. */
export function chromiumMissing(): string {
  return existsSync(CHROMIUM_PATH) ? '' : `no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set RESNET_CHROMIUM)`;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh --user-data-dir; downloads are accepted. */
export async function launchChromium(extraFlags: string[] = []): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'resnet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraFlags],
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
