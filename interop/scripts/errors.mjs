// What a client is told when it gets something wrong, with both official
// SDK lines over both transports: an unknown method is Method not found
// (-32601) over Streamable HTTP as over stdio; a tool's bad arguments are
// an isError result naming the argument plainly; and over HTTP, a request
// on an unknown session, or without the session id after initialize, is
// refused with the HTTP status the specification asks for (404, 400) and
// a JSON-RPC error body with a real code, never a JSON-RPC error of code 0.
import { callError, check, connect, listAllTools, run, sdk, transportName } from '../lib/client.mjs';

// request sends method, which no MCP server has, with a result schema each
// SDK line takes for a method it does not know.
async function request(client, method) {
  if (sdk === 'sdk1') {
    const { EmptyResultSchema } = await import('@modelcontextprotocol/sdk/types.js');
    return client.request({ method, params: {} }, EmptyResultSchema);
  }
  const anything = { '~standard': { version: 1, vendor: 'agentscope-interop', validate: (value) => ({ value }) } };
  return client.request({ method, params: {} }, anything);
}

// listTools sends tools/list. client2's listTools sends nothing to a server
// whose capabilities it has not seen, as on a session it did not open.
function listTools(client) {
  return sdk === 'sdk1' ? client.listTools() : client.request({ method: 'tools/list', params: {} });
}

// httpRefusal returns the HTTP status and the JSON-RPC error of the body
// of an error status, as each SDK line reports them: it reads no JSON-RPC
// error out of such a body, but keeps the body's text.
function httpRefusal(err) {
  const status = sdk === 'sdk1' ? err?.code : err?.status;
  const text = sdk === 'sdk1' ? String(err?.message ?? '').replace(/^.*?Error POSTing to endpoint: /s, '') : err?.data?.text;
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status, body, text };
}

await run(async (client) => {
  await listAllTools(client);

  const unknown = await request(client, 'agentscope/no-such-method').then(() => null, (e) => e);
  check(unknown?.code === -32601 && /no-such-method/.test(unknown.message), 'an unknown method is Method not found', unknown && { name: unknown.name, code: unknown.code, message: unknown.message });

  for (const [tool, args, want] of [
    ['get_run', {}, 'missing required argument "session_id"'],
    ['list_runs', { limit: 'x' }, 'argument "limit": must be an integer (got "x")'],
    ['get_run', { sesion_id: 's' }, 'missing required argument "session_id"; unknown argument "sesion_id" (expected one of: session_id)'],
    ['record_event', { session_id: 5, type: 'ToolCalled' }, 'argument "session_id": must be a string (got 5)'],
  ]) {
    const msg = await callError(client, tool, args);
    check(msg === want, `${tool} ${JSON.stringify(args)} says what is wrong`, msg);
  }

  if (transportName !== 'http') return;

  // A session the server does not hold, as after its restart: 404, and
  // the body's JSON-RPC error says so.
  const stale = await connect({ name: 'stale-session', http: { sessionId: 'no-such-session' } });
  try {
    const err = await listTools(stale).then(() => null, (e) => e);
    const got = httpRefusal(err);
    check(got.status === 404 && got.body?.error?.code === -32001 && got.body.id === null, 'an unknown session is 404 with a JSON-RPC error', got);
  } finally {
    await stale.close();
  }

  // A client that drops the session id after initialize: 400, and an
  // Invalid Request that names the header (it was code 0 with 200).
  const dropSessionID = (url, init) => {
    const headers = new Headers(init?.headers);
    headers.delete('mcp-session-id');
    return fetch(url, { ...init, headers });
  };
  const lost = await connect({ name: 'no-session-id', http: { fetch: dropSessionID } });
  try {
    const err = await listTools(lost).then(() => null, (e) => e);
    const got = httpRefusal(err);
    check(got.status === 400 && got.body?.error?.code === -32600 && /Mcp-Session-Id/.test(got.body.error.message) && got.body.id !== undefined, 'a request without the session id is 400 with Invalid Request', got);
  } finally {
    await lost.close();
  }

  // Refusals by the transport itself: the status, and a JSON-RPC error of
  // code -32000 and id null, as the TypeScript SDK's own server answers
  // them (go-sdk v1.8.0 answered plain text).
  const withHeaders = (extra) => (url, init) => {
    const headers = new Headers(init?.headers);
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    return fetch(url, { ...init, headers });
  };
  const foreign = await connect({ name: 'foreign-origin', http: { fetch: withHeaders({ Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' }) } }).then(() => null, (e) => e);
  const refused = httpRefusal(foreign);
  check(refused.status === 403 && refused.body?.error?.code === -32000 && refused.body.id === null, 'a cross-origin request is 403 with a JSON-RPC error', refused);

  let initialized = false;
  const badVersion = (url, init) => {
    const headers = new Headers(init?.headers);
    if (initialized) headers.set('mcp-protocol-version', '1999-01-01');
    return fetch(url, { ...init, headers });
  };
  const old = await connect({ name: 'bad-version', http: { fetch: badVersion } });
  initialized = true;
  try {
    const err = await listTools(old).then(() => null, (e) => e);
    const got = httpRefusal(err);
    check(got.status === 400 && got.body?.error?.code === -32000 && /protocol version/.test(got.body.error.message) && got.body.id === null, 'an unsupported protocol version is 400 with a JSON-RPC error', got);
  } finally {
    await old.close().catch(() => {});
  }
});
