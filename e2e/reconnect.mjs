// A reconnect loses nothing: the page's socket is dropped (as a network blip would), then the
// browser goes offline; messages sent through the REST API meanwhile all appear once the page
// is back, exactly once and in order, resumed by cursor.
//
// args: {chat_id, user: {email, password, organization}, api_key}

import { args, openChat, openPage, run, shownMessages, signIn, waitForMessage } from './lib.mjs';

const input = args();

async function sendViaApi(body) {
  const response = await fetch(`${input.base}/api/v1/chats/${input.chat_id}/messages`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${input.api_key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ body }),
  });
  if (response.status !== 201) throw new Error(`sending ${body}: ${response.status} ${await response.text()}`);
}

run(async (browser) => {
  const errors = [];
  const { context, page } = await openPage(browser, errors, 'operator');
  await signIn(page, input.base, input.user);
  await openChat(page, input.chat_id);
  const states = [];
  await page.exposeFunction('recordConnection', (state) => states.push(state));
  await page.evaluate(() => {
    const el = document.getElementById('connection');
    new MutationObserver(() => window.recordConnection(el.dataset.state)).observe(el, { attributes: true });
  });

  // 1. The socket drops; two messages are sent before it is back.
  await page.evaluate(() => window.switchboardInbox.dropConnection());
  await sendViaApi('while dropped 1');
  await sendViaApi('while dropped 2');
  await waitForMessage(page, 'while dropped 2');
  await page.waitForSelector('#connection[data-state="connected"]');

  // 2. The browser goes offline; three messages are sent meanwhile.
  await context.setOffline(true);
  await page.waitForSelector('#connection[data-state="offline"]');
  for (const n of [1, 2, 3]) await sendViaApi(`while offline ${n}`);
  await page.waitForTimeout(300);
  const shownWhileOffline = (await shownMessages(page)).map((m) => m.body);
  await context.setOffline(false);
  await page.waitForSelector('#connection[data-state="connected"]');
  await waitForMessage(page, 'while offline 3');

  return {
    messages: await shownMessages(page),
    shown_while_offline: shownWhileOffline,
    states,
    errors,
  };
});
