// The official OpenAI Node SDK (the `openai` package) through AgentScope's
// LLM gateway: only its baseURL and key change. Each answer is printed as a
// JSON line for interop/gateway_test.go to check against what the provider
// sent and what AgentScope recorded.
import OpenAI from "openai";

const base = process.env.INTEROP_BASE;
const key = process.env.INTEROP_TOKEN;
const out = (o) => console.log(JSON.stringify(o));

const client = (agent, session, opts = {}) =>
  new OpenAI({
    baseURL: base + "/v1",
    apiKey: key,
    defaultHeaders: { "X-AgentScope-Agent": agent, "X-AgentScope-Session-Id": session },
    ...opts,
  });

const sdk = client("sdk-agent", "sdk-session");

// Non-streaming, parsed by the SDK and as the raw body.
const parsed = await sdk.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "parsed" }],
});
out({ step: "parsed", content: parsed.choices[0].message.content, usage: parsed.usage });
const raw = await sdk.chat.completions
  .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "raw" }] })
  .asResponse();
out({ step: "raw", status: raw.status, body: await raw.text() });

// Streaming: the SDK's chunks, and the raw event stream.
const stream = await sdk.chat.completions.create({
  model: "gpt-4o-mini",
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: "user", content: "stream" }],
});
let text = "";
let usage = null;
let calls = [];
for await (const chunk of stream) {
  for (const c of chunk.choices) {
    text += c.delta?.content ?? "";
    for (const tc of c.delta?.tool_calls ?? []) {
      calls[tc.index] = calls[tc.index] ?? { id: "", name: "", arguments: "" };
      if (tc.id) calls[tc.index].id = tc.id;
      calls[tc.index].name += tc.function?.name ?? "";
      calls[tc.index].arguments += tc.function?.arguments ?? "";
    }
  }
  if (chunk.usage) usage = chunk.usage;
}
out({ step: "stream", content: text, usage, calls });
const rawStream = await sdk.chat.completions
  .create({
    model: "gpt-4o-mini",
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: "user", content: "raw stream" }],
  })
  .asResponse();
out({ step: "raw-stream", status: rawStream.status, body: await rawStream.text() });

// The tool's result goes back in the next request.
const after = await sdk.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [
    { role: "user", content: "stream" },
    { role: "assistant", content: null, tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })) },
    { role: "tool", tool_call_id: calls[0].id, content: "21C and sunny" },
  ],
});
out({ step: "tool-result", content: after.choices[0].message.content });

const emb = await sdk.embeddings.create({ model: "text-embedding-3-small", input: "hello" });
out({ step: "embeddings", dims: emb.data[0].embedding.length, usage: emb.usage });
const resp = await sdk.responses.create({ model: "gpt-4.1-mini", input: "responses" });
out({ step: "responses", text: resp.output_text, usage: resp.usage });

// Over its hard cap, an agent is refused in OpenAI's error shape, which
// the SDK reads as a RateLimitError with code insufficient_quota.
const capped = client("capped-agent", "capped-session", { maxRetries: 0 });
await capped.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "first" }] });
// Wait until the first call's cost is recorded: then the spend is past
// the cap.
for (let i = 0; ; i++) {
  const r = await fetch(base + "/api/v1/sessions/capped-session/events", { headers: { Authorization: "Bearer " + key } });
  const page = await r.json();
  if ((page.events ?? []).some((e) => e.type === "CostRecorded")) break;
  if (i > 200) throw new Error("the capped agent's cost was not recorded");
  await new Promise((res) => setTimeout(res, 50));
}
try {
  await capped.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "second" }] });
  out({ step: "cap", refused: false });
} catch (err) {
  out({
    step: "cap",
    refused: true,
    rateLimit: err instanceof OpenAI.RateLimitError,
    status: err.status,
    code: err.code,
    type: err.type,
    message: err.message,
  });
}
console.log("gateway: all calls made");
