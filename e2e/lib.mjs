// Shared helpers of the web inbox's browser scripts. Each script is run by
// tests/it/inbox_page.rs as `node e2e/<script>.mjs <base-url> '<json args>'`, prints one JSON
// line (what the browser saw) and exits 0, or prints the failure to stderr and exits 1.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nodeDir = process.env.SB_NODE_DIR || path.join(root, '.dev', 'node');
const require = createRequire(path.join(nodeDir, 'package.json'));
const { chromium } = require('playwright-core');

/** The flags this machine's closed network needs (no background or update traffic). */
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** How long any one wait may take before the script fails. */
export const TIMEOUT_MS = 15000;

/** `<base-url>` and the JSON arguments. */
export function args() {
  const [base, json] = process.argv.slice(2);
  if (!base) throw new Error('usage: node <script>.mjs <base-url> <json-args>');
  return { base, ...JSON.parse(json || '{}') };
}

/** One browser per script (Playwright gives it a fresh, temporary user-data-dir). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.SB_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 30000,
  });
}

/** A page in a fresh context; page errors and console errors are collected in `errors`. */
export async function openPage(browser, errors, label) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on('pageerror', (error) => errors.push(`${label}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${label}: console: ${message.text()}`);
  });
  return { context, page };
}

/** Signs in through the form and waits for the live connection. */
export async function signIn(page, base, { email, password, organization }) {
  await page.goto(`${base}/inbox`);
  await page.fill('#login-email', email);
  await page.fill('#login-password', password);
  if (organization) await page.fill('#login-organization', organization);
  await page.click('#login-submit');
  await page.waitForSelector('#connection[data-state="connected"]');
}

/** Opens a chat from the list. */
export async function openChat(page, chatId) {
  await page.click(`.chat-row[data-chat-id="${chatId}"]`);
  await page.waitForSelector('#conversation-main:not([hidden])');
  await page.waitForSelector('#messages:not(.loading)');
}

/** The open conversation as shown, oldest first. */
export function shownMessages(page) {
  return page.$$eval('#messages .message', (els) =>
    els.map((el) => ({
      id: el.dataset.messageId || null,
      body: el.querySelector('.body, textarea')?.textContent ?? '',
      status: el.dataset.status || null,
      draft_state: el.dataset.draftState || null,
      pending: el.classList.contains('pending'),
      draft_card: el.classList.contains('draft-card'),
    })),
  );
}

/** Waits until a confirmed (not optimistic) message with this text is shown. */
export function waitForMessage(page, text) {
  return page
    .locator('#messages .message:not(.pending) .body', { hasText: text })
    .first()
    .waitFor();
}

/** Runs a script body with a browser and prints its result as one JSON line. */
export async function run(main) {
  let browser;
  try {
    browser = await launch();
    const result = await main(browser);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    await browser.close();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${error.stack || error}\n`);
    if (browser) await browser.close().catch(() => {});
    process.exit(1);
  }
}
