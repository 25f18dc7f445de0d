// What hosts use besides tools: prompts with argument completion (prompt
// and resource template), recent sessions in resources/list,
// notifications/resources/updated for a subscribed session, progress
// notifications on a tool call and on a long one (investigate waiting), and
// logging/setLevel with the messages it turns on — with both official SDK
// lines over both transports.
import { call, check, listAllTools, run, sdk, transportName } from '../lib/client.mjs';

// onNotification registers handler for a notification method with either SDK.
async function onNotification(client, method, handler) {
  if (sdk === 'sdk1') {
    const types = await import('@modelcontextprotocol/sdk/types.js');
    const schema = {
      'notifications/resources/updated': types.ResourceUpdatedNotificationSchema,
      'notifications/message': types.LoggingMessageNotificationSchema,
    }[method];
    client.setNotificationHandler(schema, (n) => handler(n.params));
  } else {
    client.setNotificationHandler(method, (n) => handler(n.params));
  }
}

// within fails with what after ms unless promise settles first.
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// callWithProgress calls a tool with a progress callback, with either SDK.
function callWithProgress(client, name, args, onprogress) {
  if (sdk === 'sdk1') return client.callTool({ name, arguments: args }, undefined, { onprogress });
  return client.callTool({ name, arguments: args }, { onprogress });
}

await run(async (client) => {
  await listAllTools(client);
  const caps = client.getServerCapabilities();
  check(caps?.prompts && caps?.completions && caps?.resources?.subscribe && caps?.logging, 'capabilities', caps);

  const agent = `feat-${sdk}-${transportName}`;
  const { session_id: sid } = await call(client, 'start_run', { agent });

  // Prompts and completion.
  const prompts = await client.listPrompts();
  const names = prompts.prompts.map((p) => p.name).sort();
  check(names.includes('investigate_session') && names.includes('cost_report'), 'prompts/list', names);
  const inv = prompts.prompts.find((p) => p.name === 'investigate_session');
  check(inv.arguments?.some((a) => a.name === 'session_id' && a.required), 'investigate_session takes session_id', inv);
  const got = await client.getPrompt({ name: 'investigate_session', arguments: { session_id: sid } });
  check(got.messages[0].content.text.includes(sid), 'investigate_session renders the session', got);
  const cost = await client.getPrompt({ name: 'cost_report', arguments: { agent, window: '7d' } });
  check(cost.messages[0].content.text.includes(`agent="${agent}"`), 'cost_report renders the agent', cost);
  // A missing or bad argument is invalid params (-32602), as the
  // specification asks of prompts/get, with a message naming it.
  for (const [name, args] of [['investigate_session', {}], ['investigate_session', { session_id: 'no-such-session' }], ['cost_report', { window: 'forever' }]]) {
    const err = await client.getPrompt({ name, arguments: args }).then(() => null, (e) => e);
    check(err?.code === -32602 && /session_id|not found|window/.test(err.message), `prompts/get ${name} ${JSON.stringify(args)} is invalid params`, err && { code: err.code, message: err.message });
  }
  const ids = await client.complete({ ref: { type: 'ref/prompt', name: 'investigate_session' }, argument: { name: 'session_id', value: sid.slice(0, 6) } });
  check(ids.completion.values.includes(sid), 'session_id completion', ids);
  const byTemplate = await client.complete({ ref: { type: 'ref/resource', uri: 'agentscope://sessions/{session_id}' }, argument: { name: 'session_id', value: sid.slice(0, 6) } });
  check(byTemplate.completion.values.includes(sid), 'session_id completion for the session template', byTemplate);
  const agents = await client.complete({ ref: { type: 'ref/prompt', name: 'cost_report' }, argument: { name: 'agent', value: 'feat-' } });
  check(agents.completion.values.includes(agent), 'agent completion', agents);

  // Recent sessions to browse.
  const resources = await client.listResources();
  check(resources.resources.some((r) => r.uri === `agentscope://sessions/${sid}`), 'resources/list has the session', resources.resources.map((r) => r.uri));

  // Subscribe: a commit to the session arrives as resources/updated.
  const uri = `agentscope://sessions/${sid}`;
  let resolveUpdated;
  const updated = new Promise((resolve) => (resolveUpdated = resolve));
  await onNotification(client, 'notifications/resources/updated', (params) => {
    if (params.uri === uri) resolveUpdated(params.uri);
  });
  await client.subscribeResource({ uri });
  await call(client, 'record_event', { session_id: sid, type: 'ToolCalled', tool: 'search', call_id: 'c1' });
  check((await within(updated, 10000, 'no notifications/resources/updated')) === uri, 'resources/updated for the session');
  await client.unsubscribeResource({ uri });

  // Progress on a tool call that asks for it. Both SDKs dispatch
  // notifications a tick after the response that follows them, and drop
  // progress for a request already answered, so a call this fast may see
  // none of them; whatever arrives must be well formed and rising (the Go
  // tests check that every call with a token gets them, in order).
  const progress = [];
  const spl = await callWithProgress(client, 'run_spl', { query: `search session_id="${sid}" | stats count by type` }, (p) => progress.push(p));
  check(!spl.isError && spl.structuredContent?.results?.length > 0, 'run_spl with a progress token', spl);
  for (const p of progress) check(p.total === 1 && p.progress >= 0 && p.progress <= 1, 'progress well formed', progress);
  for (let i = 1; i < progress.length; i++) check(progress[i].progress > progress[i - 1].progress, 'progress rises', progress);

  // A long call: investigate waiting (no worker runs here, so the
  // investigation stays queued for the whole second) reports where it is
  // while it waits, well before its result.
  const waiting = [];
  const investigation = await callWithProgress(client, 'investigate', { session_id: sid, wait_seconds: 1 }, (p) => waiting.push(p));
  check(!investigation.isError && investigation.structuredContent?.status === 'queued', 'investigate with wait_seconds', investigation);
  check(waiting.some((p) => p.progress > 0 && p.progress < 1 && p.total === 1 && /queued/.test(p.message ?? '')), 'progress while investigate waits', waiting);
  for (let i = 1; i < waiting.length; i++) check(waiting[i].progress > waiting[i - 1].progress, 'investigate progress rises', waiting);

  // logging/setLevel: a tool call then sends notifications/message at that
  // level; a level the protocol does not name is refused.
  let resolveLogged;
  const logged = new Promise((resolve) => (resolveLogged = resolve));
  await onNotification(client, 'notifications/message', (params) => {
    if (params.data?.tool === 'get_run') resolveLogged(params);
  });
  await client.setLoggingLevel('debug');
  await call(client, 'get_run', { session_id: sid });
  const msg = await within(logged, 10000, 'no notifications/message for a tool call at level debug');
  check(msg.level === 'debug' && msg.logger === 'agentscope' && msg.data.message === 'ok', 'log message', msg);
  let refused;
  try {
    await client.setLoggingLevel('loud');
  } catch (err) {
    refused = err;
  }
  check(/level must be one of/.test(refused?.message ?? ''), 'logging/setLevel loud refused by the server', refused?.message);
  await client.setLoggingLevel('warning');
});
