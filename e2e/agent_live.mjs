// An agent's draft and hand-off arriving live in the open conversation show the agent's logged
// decision at once (the event carries it), without reopening the chat. The test drives the
// contact's side: it writes in after this script prints `{"stage":"open"}`, and again after
// `{"stage":"drafted"}`.
//
// args: {chat_id, user: {email, password, organization}}

import { args, openPage, run, signIn } from './lib.mjs';

const input = args();

run(async (browser) => {
  const errors = [];
  const { page } = await openPage(browser, errors, 'operator');
  await signIn(page, input.base, input.user);
  // The conversation is empty until the contact writes: wait for it to load, not to show.
  await page.click(`.chat-row[data-chat-id="${input.chat_id}"]`);
  await page.waitForSelector('#conversation-main:not([hidden])');
  await page.waitForSelector('#messages:not(.loading)', { state: 'attached' });
  process.stdout.write(`${JSON.stringify({ stage: 'open' })}\n`);
  const draft = page.locator('.draft-card').first();
  await draft.waitFor();
  const decision = draft.locator('.decision');
  await decision.waitFor();
  const decisionText = (await decision.textContent()).trim();
  process.stdout.write(`${JSON.stringify({ stage: 'drafted' })}\n`);
  const handoff = page.locator('.agent-note.handoff').first();
  await handoff.waitFor();
  return {
    draft: (await draft.locator('textarea, .body').first().textContent()).trim(),
    decision: decisionText,
    handoff: (await handoff.textContent()).trim(),
    errors,
  };
});
