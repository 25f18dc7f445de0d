// The official TypeScript SDKs' OAuth client provider against AgentScope's
// /mcp (issue 17 item 5), run by interop/oauth_test.go for each line:
//
//   INTEROP_SDK     "sdk1" (@modelcontextprotocol/sdk 1.x) or "client2"
//                   (@modelcontextprotocol/client 2.x)
//   INTEROP_URL     the /mcp endpoint of a running `agentscope serve`
//   INTEROP_COOKIE  a signed-in web UI session's cookie (name=value), the
//                   person who approves the host on the consent page
//
// A host with no token connects; the SDK finds the protected resource
// metadata from the 401, registers itself, and sends the person to the
// consent page, which this script fills in as the person would; the SDK
// exchanges the code, the host calls tools, refreshes (the refresh token
// rotates, and reusing the old one is refused), and revokes. Any failed
// check exits non-zero.
const sdk = process.env.INTEROP_SDK ?? 'sdk1';
async function load() {
  if (sdk === 'sdk1') {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const a = await import('@modelcontextprotocol/sdk/client/auth.js');
    return { Client, StreamableHTTPClientTransport, ...a };
  }
  if (sdk === 'client2') return await import('@modelcontextprotocol/client');
  throw new Error(`INTEROP_SDK must be sdk1 or client2, got ${sdk}`);
}
const { Client, StreamableHTTPClientTransport, UnauthorizedError, auth, refreshAuthorization, discoverAuthorizationServerMetadata } = await load();

const mcpURL = new URL(process.env.INTEROP_URL);
const cookie = process.env.INTEROP_COOKIE;
const redirectUrl = 'http://127.0.0.1:33419/callback';

function check(ok, what, detail) {
  if (!ok) {
    console.error(`FAIL: ${what}`, detail ?? '');
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

// provider keeps what the SDK hands it in memory, as a host would on disk.
class MemoryProvider {
  constructor() { this.saved = {}; this.authorizationURL = undefined; }
  get redirectUrl() { return redirectUrl; }
  get clientMetadata() {
    return { client_name: `ts-${sdk} interop`, redirect_uris: [redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() { return this.saved.client; }
  saveClientInformation(info) { this.saved.client = info; }
  tokens() { return this.saved.tokens; }
  saveTokens(tokens) { this.saved.tokens = tokens; }
  redirectToAuthorization(url) { this.authorizationURL = url; }
  saveCodeVerifier(v) { this.saved.verifier = v; }
  codeVerifier() { return this.saved.verifier; }
  saveDiscoveryState(state) { this.saved.discovery = state; }
  discoveryState() { return this.saved.discovery; }
}

// consent plays the person: opens the authorization URL with the UI
// session, approves the default organisation with the given scopes, and
// returns the redirect's parameters (code, state, iss).
async function consent(url, scopes) {
  const page = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  const html = await page.text();
  check(page.status === 200 && html.includes(`ts-${sdk} interop`), 'the consent page names the host', page.status);
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) {
    form.append(unescape(m[1]), unescape(m[2]));
  }
  form.set('decision', 'approve');
  form.set('org', 'default');
  for (const s of scopes) form.append('scope_grant', s);
  const resp = await fetch(new URL('/oauth/authorize', url), { method: 'POST', body: form, headers: { cookie }, redirect: 'manual' });
  const loc = resp.headers.get('location') ?? '';
  check(resp.status === 303 && loc.startsWith(redirectUrl + '?'), 'the consent goes back to the host', `${resp.status} ${loc}`);
  const q = new URL(loc).searchParams;
  check(q.get('code')?.startsWith('asc_') && q.get('iss') === url.origin, 'the redirect carries a code and the issuer', loc);
  return q;
}

// finish hands the host the redirect's parameters, as each line takes
// them: 2.x reads code and iss (and checks iss, RFC 9207) from them.
async function finish(transport, q) {
  if (sdk === 'client2') await transport.finishAuth(q);
  else await transport.finishAuth(q.get('code'));
}

function unescape(s) {
  return s.replaceAll('&#34;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&amp;', '&');
}

async function text(result) {
  check(!result.isError, 'the tool call succeeds', result);
  return result.content.map((c) => c.text ?? '').join('');
}

const provider = new MemoryProvider();
let transport = new StreamableHTTPClientTransport(mcpURL, { authProvider: provider });
let client = new Client({ name: `ts-${sdk}-oauth`, version: '1.0.0' });
try {
  await client.connect(transport);
  check(false, 'an unauthorized connect fails');
} catch (e) {
  check(e instanceof UnauthorizedError, 'the first connect asks for authorization', e);
}
check(provider.saved.client?.client_id?.startsWith('mcpc-'), 'the SDK registered the host', provider.saved.client);
const authURL = provider.authorizationURL;
check(authURL?.searchParams.get('resource') === mcpURL.href && authURL.searchParams.get('code_challenge_method') === 'S256', 'the authorization request has the resource and PKCE', authURL?.href);

await finish(transport, await consent(authURL, ['ingest', 'read']));
check(provider.saved.tokens?.access_token?.startsWith('asa_') && provider.saved.tokens?.refresh_token?.startsWith('asr_'), 'the SDK holds an access and a refresh token');
check(provider.saved.tokens.scope === 'ingest read', 'the granted scopes', provider.saved.tokens.scope);

transport = new StreamableHTTPClientTransport(mcpURL, { authProvider: provider });
client = new Client({ name: `ts-${sdk}-oauth`, version: '1.0.0' });
await client.connect(transport);
const started = JSON.parse(await text(await client.callTool({ name: 'start_run', arguments: { agent: 'ts-oauth-bot' } })));
check(typeof started.session_id === 'string', 'start_run with the OAuth token', started);
const replay = await text(await client.callTool({ name: 'replay_session', arguments: { session_id: started.session_id } }));
check(replay.includes('ts-oauth-bot'), 'replay_session of its own session');
const foreign = await client.callTool({ name: 'replay_session', arguments: { session_id: 'beta-secret' } });
check(foreign.isError && foreign.content[0].text.includes('not found') && !foreign.content[0].text.includes('beta-bot'), "another organisation's session is not found", foreign);
await client.close();

// Refresh: auth() with a refresh token rotates it.
const first = provider.saved.tokens;
check(await auth(provider, { serverUrl: mcpURL }) === 'AUTHORIZED', 'auth() refreshes');
const second = provider.saved.tokens;
check(second.refresh_token !== first.refresh_token && second.access_token !== first.access_token, 'the refresh token rotated');
const metadata = await discoverAuthorizationServerMetadata(new URL(mcpURL.origin));
let reused;
try {
  await refreshAuthorization(mcpURL.origin, { metadata, clientInformation: provider.saved.client, refreshToken: first.refresh_token, resource: mcpURL });
} catch (e) {
  reused = e;
}
check(reused && /already used|invalid_grant/.test(String(reused)), 'reusing a rotated refresh token is refused', reused);
const afterReuse = await fetch(mcpURL, { method: 'POST', headers: { authorization: `Bearer ${second.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
check(afterReuse.status === 401 && (afterReuse.headers.get('www-authenticate') ?? '').includes('resource_metadata='), 'reuse revoked the family: the newest access token is refused', afterReuse.status);

// A new authorization, then revocation at the metadata's endpoint.
provider.saved.tokens = undefined;
transport = new StreamableHTTPClientTransport(mcpURL, { authProvider: provider });
client = new Client({ name: `ts-${sdk}-oauth`, version: '1.0.0' });
try { await client.connect(transport); } catch (e) { check(e instanceof UnauthorizedError, 'authorization again', e); }
await finish(transport, await consent(provider.authorizationURL, ['read']));
const tokens = provider.saved.tokens;
check(metadata.revocation_endpoint === `${mcpURL.origin}/oauth/revoke`, 'the metadata names the revocation endpoint', metadata);
const revoked = await fetch(metadata.revocation_endpoint, { method: 'POST', body: new URLSearchParams({ token: tokens.access_token, token_type_hint: 'access_token', client_id: provider.saved.client.client_id }) });
check(revoked.status === 200, 'revocation answers 200', revoked.status);
const afterRevoke = await fetch(mcpURL, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
check(afterRevoke.status === 401, 'a revoked access token is refused', afterRevoke.status);
console.log(`${sdk} OAuth: all checks passed`);
