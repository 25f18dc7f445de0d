// The read-only tools of the other packages (search, runtime), called by the
// official clients so that their structured results meet each tool's
// outputSchema as these clients check it (run_spl's once did not).
import { call, check, listAllTools, run, sdk, transportName } from '../lib/client.mjs';

await run(async (client) => {
  await listAllTools(client);
  const agent = `interop-ro-${sdk}-${transportName}`;
  const { session_id: sid } = await call(client, 'start_run', { agent });
  await call(client, 'record_event', {
    session_id: sid,
    events: [
      { type: 'ModelCompleted', provider: 'openai', model: 'gpt-4.1-mini', duration_ms: 900, tokens_in: 10, tokens_out: 5 },
      { type: 'ToolCalled', tool: 'search', call_id: 'c1' },
      { type: 'ToolReturned', tool: 'search', call_id: 'c1', duration_ms: 3, status: 'error', error: 'boom' },
      { type: 'CostRecorded', amount_usd: 0.5 },
    ],
  });
  await call(client, 'end_run', { session_id: sid, status: 'failed', error: 'interop' });

  const spl = await call(client, 'run_spl', { query: `search session_id="${sid}" | stats count by type` });
  check(Array.isArray(spl.results) && spl.results.length > 0, 'run_spl rows', spl);
  await call(client, 'splunk_insights', {});
  await call(client, 'splunk_health', {});
  const agents = await call(client, 'list_agents', {});
  check(JSON.stringify(agents).includes(agent), 'list_agents has the external agent');
  await call(client, 'get_budgets', {});
  await call(client, 'list_reports', {});
  await call(client, 'session_findings', { session_id: sid });
  await call(client, 'list_alert_rules', {});
});
