// Driving code-server's workbench from Playwright as a person would: the command palette, quick picks,
// notifications, the status bar item and the rows of a view. Shared by the UI tests.

import type { Page } from 'playwright-core';

/** Runs a palette command by its title. The first F1 after load can be lost and commands appear only once
 * the extension host scanned the extension, so it retries. */
export async function palette(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 0; attempt < 10; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 2000 });
      await input.fill(`>${title}`);
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
      await row.waitFor({ state: 'visible', timeout: 3000 });
      await page.keyboard.press('Enter');
      return;
    } catch {
      /* not there yet: again */
    }
  }
  throw new Error(`the command palette never offered '${title}'`);
}

/** Picks the row with `text` in an open quick pick (or accepts an input box with Enter). */
export async function pick(page: Page, text: string | null): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  if (text !== null) {
    await input.fill(text);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first().waitFor({ state: 'visible', timeout: 5000 });
  }
  await page.keyboard.press('Enter');
}

export async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits for a notification containing `text`; fails at once on one containing `failText`. */
export async function notification(page: Page, text: string, failText: string, timeout: number): Promise<string> {
  const toasts = page.locator('.notifications-toasts .notification-toast');
  const t0 = Date.now();
  while (Date.now() - t0 < timeout) {
    for (const t of await toasts.allInnerTexts()) {
      if (t.includes(failText)) throw new Error(`VS Code said: ${t.replace(/\s+/g, ' ')}`);
      if (t.includes(text)) return t;
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`no notification with '${text}' within ${timeout} ms`);
}

/** The Linsock status bar item: its visible text and its accessible label (the tooltip's lines). */
export async function statusOf(page: Page): Promise<{ text: string; label: string }> {
  const item = page.locator('.statusbar-item', { hasText: 'Linsock' }).first();
  const text = (await item.innerText()).replace(/\s+/g, ' ').trim();
  const label = await item.evaluate((el) => el.getAttribute('aria-label') ?? el.querySelector('[aria-label]')?.getAttribute('aria-label') ?? '');
  return { text, label };
}

/** The texts of the rows of the views in the side bar (tree items, with their descriptions). */
export async function viewRows(page: Page): Promise<string[]> {
  return (await page.locator('.pane-body .monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

/** The texts of the notifications on screen. */
export async function notifications(page: Page): Promise<string[]> {
  return (await page.locator('.notifications-toasts .notification-toast').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}
