// Shared by every interop/scripts/*.mjs: connect one of the official
// TypeScript MCP clients to AgentScope, chosen by the environment the Go
// test (interop_test.go) sets:
//
//   INTEROP_SDK        "sdk1" (@modelcontextprotocol/sdk 1.x) or "client2" (@modelcontextprotocol/client 2.x)
//   INTEROP_TRANSPORT  "http" (Streamable HTTP) or "stdio" (the SDK spawns the binary)
//   INTEROP_URL        the /mcp endpoint of a running `agentscope serve` (http)
//   INTEROP_TOKEN      its bearer token (http)
//   INTEROP_BIN        the agentscope binary (stdio: spawned as `agentscope mcp`)
//   INTEROP_DATA_DIR   the data dir the stdio server uses
//
// Any thrown error or failed check exits non-zero; the Go test prints the
// script's output.
import { Ajv2020 } from 'ajv/dist/2020.js';

export const sdk = process.env.INTEROP_SDK ?? 'sdk1';
export const transportName = process.env.INTEROP_TRANSPORT ?? 'http';

async function load() {
  if (sdk === 'sdk1') {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    return { Client, StreamableHTTPClientTransport, StdioClientTransport };
  }
  if (sdk === 'client2') {
    const { Client, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client');
    const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
    return { Client, StreamableHTTPClientTransport, StdioClientTransport };
  }
  throw new Error(`INTEROP_SDK must be sdk1 or client2, got ${sdk}`);
}

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// connect returns a connected Client of the chosen SDK line over the chosen
// transport. capabilities are the client's (e.g. for features scripts);
// http holds more options of the HTTP transport (e.g. sessionId, fetch).
export async function connect({ name = 'agentscope-interop', capabilities = {}, http = {} } = {}) {
  const { Client, StreamableHTTPClientTransport, StdioClientTransport } = await load();
  const client = new Client({ name: `${name}-${sdk}-${transportName}`, version: '1.0.0' }, { capabilities });
  let transport;
  if (transportName === 'http') {
    transport = new StreamableHTTPClientTransport(new URL(need('INTEROP_URL')), {
      requestInit: { headers: { Authorization: `Bearer ${need('INTEROP_TOKEN')}` } },
      ...http,
    });
  } else if (transportName === 'stdio') {
    transport = new StdioClientTransport({
      command: need('INTEROP_BIN'),
      args: ['mcp', '--no-worker', '--log-level', 'warn'],
      // Only what the server needs: a host passes little of its own
      // environment to the servers it starts.
      env: {
        AGENTSCOPE_DATA_DIR: need('INTEROP_DATA_DIR'),
        HOME: need('INTEROP_DATA_DIR'),
        PATH: process.env.PATH ?? '',
        ...(process.env.XDG_RUNTIME_DIR ? { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR } : {}),
      },
      stderr: 'inherit',
    });
  } else {
    throw new Error(`INTEROP_TRANSPORT must be http or stdio, got ${transportName}`);
  }
  await client.connect(transport);
  return client;
}

// check fails the script with msg unless cond holds.
export function check(cond, msg, detail) {
  if (!cond) {
    throw new Error(`check failed: ${msg}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  }
}

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map();

// listAllTools lists every tool, following nextCursor, and compiles each
// outputSchema with ajv (JSON Schema 2020-12, the MCP default dialect).
export async function listAllTools(client) {
  const tools = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : undefined);
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  for (const t of tools) {
    check(t.inputSchema?.type === 'object', `${t.name}: inputSchema type object`, t.inputSchema?.type);
    if (t.outputSchema) {
      check(t.outputSchema.type === 'object', `${t.name}: outputSchema type object`, t.outputSchema.type);
      validators.set(t.name, ajv.compile(t.outputSchema));
    }
  }
  return tools;
}

// call calls a tool (the SDK itself checks structuredContent against the
// tool's outputSchema), fails on isError, checks structuredContent again
// with ajv, and returns it.
export async function call(client, name, args) {
  const res = await client.callTool({ name, arguments: args });
  check(!res.isError, `${name} returned isError`, res.content);
  const v = validators.get(name);
  check(v, `${name}: no outputSchema seen in tools/list (call listAllTools first)`);
  check(res.structuredContent !== undefined, `${name}: no structuredContent`);
  if (!v(res.structuredContent)) {
    throw new Error(`${name}: structuredContent does not match the tool's outputSchema: ${ajv.errorsText(v.errors)}`);
  }
  return res.structuredContent;
}

// callError calls a tool that must fail and returns its error text.
export async function callError(client, name, args) {
  const res = await client.callTool({ name, arguments: args });
  check(res.isError === true, `${name} must fail`, res);
  return res.content?.map((c) => c.text ?? '').join('');
}

// run runs main with a connected client, closing it after, and exits
// non-zero on any error.
export async function run(main) {
  let client;
  try {
    client = await connect();
    await main(client);
    console.log(`ok ${sdk} ${transportName}`);
  } catch (err) {
    console.error(`FAIL ${sdk} ${transportName}:`, err?.stack ?? err);
    process.exitCode = 1;
  } finally {
    try {
      await client?.close();
    } catch (err) {
      console.error('close:', err);
      process.exitCode = 1;
    }
  }
}
