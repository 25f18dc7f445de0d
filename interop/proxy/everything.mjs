// The official TypeScript SDK client (@modelcontextprotocol/sdk 1.x) as an
// MCP host, connected over stdio to `agentscope proxy`, which spawns the
// MCP reference server @modelcontextprotocol/server-everything (stdio).
// It uses the server's whole surface through the proxy — every tool,
// every resource and template, every prompt, completion, subscriptions,
// logging, and the server's own requests (sampling, elicitation, roots)
// answered by this host — and prints what it sent and got as one JSON line
// (`RESULT {...}`) for proxy_test.go to compare with what AgentScope
// recorded. Environment: INTEROP_BIN (agentscope), INTEROP_DATA_DIR (the
// proxy's data dir), EVERYTHING (the server's dist/index.js).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ToolListChangedNotificationSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

function check(cond, msg) {
  if (!cond) throw new Error(`check failed: ${msg}`);
}

const seen = { sampling: 0, elicitation: 0, roots: 0, progress: 0, logging: 0, toolsChanged: 0, resourceUpdated: 0 };

const client = new Client(
  { name: 'everything-host', version: '1.0.0' },
  { capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } } },
);
client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
  seen.sampling++;
  const text = req.params.messages.map((m) => m.content?.text ?? '').join(' ');
  return { model: 'interop-model', role: 'assistant', content: { type: 'text', text: `sampled: ${text}` }, stopReason: 'endTurn' };
});
client.setRequestHandler(ElicitRequestSchema, async () => {
  seen.elicitation++;
  return { action: 'decline' };
});
client.setRequestHandler(ListRootsRequestSchema, async () => {
  seen.roots++;
  return { roots: [{ uri: 'file:///tmp/interop-root', name: 'interop root' }] };
});
let toolsChanged;
const toolsChangedOnce = new Promise((resolve) => { toolsChanged = resolve; });
client.setNotificationHandler(ToolListChangedNotificationSchema, () => { seen.toolsChanged++; toolsChanged(); });
client.setNotificationHandler(LoggingMessageNotificationSchema, () => { seen.logging++; });
client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => { seen.resourceUpdated++; });

const transport = new StdioClientTransport({
  command: need('INTEROP_BIN'),
  args: ['proxy', '--log-level', 'warn', '--', process.execPath, need('EVERYTHING'), 'stdio'],
  env: {
    AGENTSCOPE_DATA_DIR: need('INTEROP_DATA_DIR'),
    HOME: need('INTEROP_DATA_DIR'),
    PATH: process.env.PATH ?? '',
  },
  stderr: 'inherit',
});
await client.connect(transport);
check(client.getServerVersion()?.name === 'mcp-servers/everything', `serverInfo through the proxy: ${JSON.stringify(client.getServerVersion())}`);

// The server registers its capability-dependent tools after initialize
// and says so with tools/list_changed.
let tools = (await client.listTools()).tools;
if (!tools.some((t) => t.name === 'trigger-sampling-request')) {
  await toolsChangedOnce;
  tools = (await client.listTools()).tools;
}
const names = tools.map((t) => t.name);
for (const want of ['echo', 'get-sum', 'trigger-long-running-operation', 'trigger-sampling-request', 'trigger-elicitation-request', 'get-roots-list']) {
  check(names.includes(want), `tools/list lacks ${want}: ${names}`);
}

// Arguments for each tool; a tool not listed here is called with {}.
const argsFor = {
  echo: { message: 'hello through the proxy ✓' },
  'get-annotated-message': { messageType: 'success', includeImage: true },
  'get-resource-links': { count: 2 },
  'get-resource-reference': { resourceType: 'Text', resourceId: 1 },
  'get-structured-content': { location: 'Chicago' },
  'get-sum': { a: 2, b: 3.5 },
  'gzip-file-as-resource': { name: 'hello.txt.gz', data: 'data:text/plain;base64,aGVsbG8gd29ybGQ=' },
  'trigger-long-running-operation': { duration: 0.3, steps: 3 },
  'trigger-sampling-request': { prompt: 'say hi', maxTokens: 20 },
  'trigger-url-elicitation': { url: 'https://example.com/authorize' },
  'simulate-research-query': { topic: 'flight recorders' },
  'trigger-sampling-request-async': { prompt: 'say hi' },
};
const calls = [];
const taskTools = new Set(tools.filter((t) => t.execution?.taskSupport === 'required').map((t) => t.name));
for (const tool of names) {
  const args = argsFor[tool] ?? {};
  if (taskTools.has(tool)) {
    // A task-augmented call (MCP tasks): tools/call answers with the
    // task, then tasks/get and tasks/result fetch its outcome. The
    // proxy records the tools/call and its answer (the task).
    let result;
    for await (const msg of client.experimental.tasks.callToolStream({ name: tool, arguments: args })) {
      if (msg.type === 'result') result = msg.result;
      if (msg.type === 'error') throw msg.error;
    }
    check(result, `${tool}: no result from the task`);
    calls.push({ tool, arguments: args, task: true, result });
    continue;
  }
  const opts = tool === 'trigger-long-running-operation' ? { onprogress: () => { seen.progress++; } } : {};
  try {
    const result = await client.callTool({ name: tool, arguments: args }, undefined, opts);
    calls.push({ tool, arguments: args, result });
  } catch (err) {
    // A JSON-RPC error answer (e.g. a tool that needs a task-augmented
    // call); the proxy relays it and records the call as failed.
    calls.push({ tool, arguments: args, error: String(err.message ?? err) });
  }
}
// toggle-simulated-logging and toggle-subscriber-updates were switched on
// above; switch them off again (two more recorded calls).
for (const tool of ['toggle-simulated-logging', 'toggle-subscriber-updates']) {
  if (names.includes(tool)) {
    const result = await client.callTool({ name: tool, arguments: {} });
    calls.push({ tool, arguments: {}, result });
  }
}
const byName = Object.fromEntries(calls.map((c) => [c.tool, c]));
check(byName.echo.result.content[0].text.includes('hello through the proxy ✓'), `echo: ${JSON.stringify(byName.echo)}`);
check(byName['get-sum'].result.content[0].text.includes('5.5'), `get-sum: ${JSON.stringify(byName['get-sum'])}`);
check(JSON.stringify(byName['trigger-sampling-request'].result).includes('sampled:'), `sampling answer through the proxy: ${JSON.stringify(byName['trigger-sampling-request'])}`);
check(JSON.stringify(byName['get-roots-list'].result).includes('file:///tmp/interop-root'), `roots answer through the proxy: ${JSON.stringify(byName['get-roots-list'])}`);
check(seen.sampling >= 1 && seen.elicitation >= 1 && seen.roots >= 1, `server requests answered: ${JSON.stringify(seen)}`);
check(seen.progress >= 1, `progress notifications: ${seen.progress}`);

// Resources: every page of the list, every resource read, the templates,
// one read through each template, and a subscription.
let resources = [];
let cursor;
do {
  const page = await client.listResources(cursor ? { cursor } : {});
  resources = resources.concat(page.resources);
  cursor = page.nextCursor;
} while (cursor);
check(resources.length > 0, 'resources/list is empty');
for (const r of resources) {
  const read = await client.readResource({ uri: r.uri });
  check(read.contents.length > 0, `resources/read ${r.uri}`);
}
const templates = (await client.listResourceTemplates()).resourceTemplates;
check(templates.length > 0, 'resources/templates/list is empty');
for (const t of templates) {
  const uri = t.uriTemplate.replace('{resourceId}', '1');
  const read = await client.readResource({ uri });
  check(read.contents.length > 0, `resources/read ${uri}`);
}
await client.subscribeResource({ uri: resources[0].uri });
await client.unsubscribeResource({ uri: resources[0].uri });

// Prompts: each one, with arguments where it takes them, and completion.
const promptArgs = {
  'args-prompt': { city: 'Lyon', state: 'Rhône' },
  'completable-prompt': { department: 'Engineering', name: 'Alice' },
  'resource-prompt': { resourceType: 'Text', resourceId: '1' },
};
const prompts = (await client.listPrompts()).prompts;
check(prompts.length > 0, 'prompts/list is empty');
for (const p of prompts) {
  const got = await client.getPrompt({ name: p.name, arguments: promptArgs[p.name] ?? {} });
  check(got.messages.length > 0, `prompts/get ${p.name}`);
}
const completion = await client.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'E' } });
check(completion.completion.values.length > 0, `completion/complete: ${JSON.stringify(completion)}`);
await client.setLoggingLevel('debug');
await client.ping();

await client.close();
console.log('RESULT ' + JSON.stringify({ calls, seen, resources: resources.length, templates: templates.length, prompts: prompts.length }));
