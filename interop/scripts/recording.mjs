// The recording flow a host or agent goes through: initialize, list tools,
// resources, resource templates and prompts, register the agent and cap
// its spend, start a run, record one event
// of every type record_event accepts, a batch, end the run, replay it page by
// page and read the session resource. Every structured result is checked
// against the tool's own outputSchema (by the SDK and again with ajv).
import { call, callError, check, listAllTools, run, sdk, transportName } from '../lib/client.mjs';

await run(async (client) => {
  const info = client.getServerVersion();
  check(info?.name === 'agentscope', 'server name', info);
  const caps = client.getServerCapabilities();
  check(caps?.tools, 'tools capability', caps);

  const tools = await listAllTools(client);
  const names = new Set(tools.map((t) => t.name));
  for (const n of ['start_run', 'record_event', 'end_run', 'get_run', 'list_runs', 'replay_session', 'run_spl']) {
    check(names.has(n), `tools/list has ${n}`, [...names]);
  }
  for (const t of tools) check(t.description, `${t.name} has a description`);

  const resources = await client.listResources();
  check(Array.isArray(resources.resources), 'resources/list', resources);
  const templates = await client.listResourceTemplates();
  check(templates.resourceTemplates.some((t) => t.uriTemplate === 'agentscope://sessions/{session_id}'), 'session resource template', templates);
  // Prompts may be none yet; listing must not fail when advertised.
  if (caps.prompts) {
    const prompts = await client.listPrompts();
    check(Array.isArray(prompts.prompts), 'prompts/list', prompts);
  }

  const agent = `interop-${sdk}-${transportName}`;
  // An external agent registered before its first run takes a budget at
  // once; registering a name the organisation has is refused.
  const registered = await call(client, 'register_agent', { name: agent });
  check(registered.name === agent && registered.kind === 'external', 'register_agent', registered);
  const taken = await callError(client, 'register_agent', { name: agent });
  check(taken.includes(`agent "${agent}" already exists`), 'register_agent of a taken name refused', taken);
  const budget = await call(client, 'set_budget', { agent, period: 'day', limit_usd: 100, hard_cap: true });
  check(budget.agent === agent && budget.hard_cap === true && budget.limit_usd === 100, 'set_budget on the registered agent', budget);
  const started = await call(client, 'start_run', { agent, input: { task: 'interop' } });
  const sid = started.session_id;
  check(typeof sid === 'string' && sid.length > 0, 'start_run session_id', started);

  // One event of every type record_event accepts (the non-system types of
  // event.go / validate.go), each with its required fields.
  const single = [
    { type: 'ModelInvoked', provider: 'openai', model: 'gpt-4.1-mini', input: { messages: 1 } },
    { type: 'ModelCompleted', provider: 'openai', model: 'gpt-4.1-mini', duration_ms: 812.5, tokens_in: 120, tokens_out: 40, cache_read_tokens: 20, finish_reason: 'stop', output: 'hi' },
    { type: 'ToolCalled', tool: 'search', call_id: 'c1', arguments: { q: 'x' } },
    { type: 'ToolReturned', tool: 'search', call_id: 'c1', duration_ms: 12, status: 'ok', result: { hits: 3 } },
    { type: 'CostRecorded', amount_usd: 0.0123, currency: 'USD', model: 'gpt-4.1-mini', provider: 'openai', source: 'interop' },
  ];
  let seq = 0;
  for (const [i, ev] of single.entries()) {
    const out = await call(client, 'record_event', { session_id: sid, event_id: `ev-${i}`, attributes: { n: i, ok: true }, ...ev });
    check(out.accepted === 1 && out.rejected === 0, `record_event ${ev.type} accepted`, out);
    check(out.results[0].seq > seq, `record_event ${ev.type} seq grows`, out);
    seq = out.results[0].seq;
  }
  // The same event again (a retry) is stored once.
  const dup = await call(client, 'record_event', { session_id: sid, event_id: 'ev-0', attributes: { n: 0, ok: true }, ...single[0] });
  check(dup.results[0].duplicate === true, 'duplicate event_id reported', dup);
  // The same event_id with another body is refused, never dropped silently.
  const conflict = await callError(client, 'record_event', { session_id: sid, event_id: 'ev-0', ...single[0] });
  check(/ev-0/.test(conflict) && /different body/.test(conflict), 'conflicting event_id refused', conflict);

  // An unknown type is refused with a tool error, not a protocol error.
  const msg = await callError(client, 'record_event', { session_id: sid, type: 'NoSuchType' });
  check(/NoSuchType/.test(msg), 'unknown type refused', msg);

  // A batch.
  const batch = [];
  for (let i = 0; i < 30; i++) {
    batch.push({ type: 'ToolCalled', tool: 'fetch', call_id: `b${i}`, event_id: `batch-${i}` });
  }
  const b = await call(client, 'record_event', { session_id: sid, events: batch });
  check(b.accepted === 30 && b.rejected === 0 && b.results.length === 30, 'batch accepted', b);

  const ended = await call(client, 'end_run', { session_id: sid, status: 'completed', output: { answer: 42 } });
  check(ended.status === 'completed', 'end_run status', ended);
  const got = await call(client, 'get_run', { session_id: sid });
  check(got.status === 'completed' && got.agent === agent, 'get_run', got);
  const runs = await call(client, 'list_runs', { agent });
  check(runs.runs.some((r) => r.session_id === sid), 'list_runs has the run', runs);

  // Replay page by page, following next_cursor.
  const events = [];
  let cursor;
  let pages = 0;
  do {
    const page = await call(client, 'replay_session', { session_id: sid, limit: 7, ...(cursor ? { cursor } : {}) });
    events.push(...page.events);
    cursor = page.next_cursor;
    pages++;
    check(pages < 100, 'replay terminates');
  } while (cursor);
  // SessionStarted + 5 singles + 30 batch + SessionCompleted.
  check(events.length === 37, 'replay event count', events.length);
  check(pages >= 6, 'replay paged', pages);
  for (let i = 1; i < events.length; i++) check(events[i].seq > events[i - 1].seq, 'replay in seq order');
  const types = new Set(events.map((e) => e.type));
  for (const t of ['SessionStarted', 'SessionCompleted', ...single.map((e) => e.type)]) check(types.has(t), `replay has ${t}`, [...types]);

  const res = await client.readResource({ uri: `agentscope://sessions/${sid}` });
  check(res.contents.length === 1 && res.contents[0].mimeType === 'application/json', 'session resource', res);
  const body = JSON.parse(res.contents[0].text);
  check(body.run.session_id === sid && body.events.length === 37, 'session resource body', { run: body.run, n: body.events.length });
});
