// The official Anthropic TypeScript SDK (`@anthropic-ai/sdk`) through
// AgentScope's LLM gateway, with the AgentScope key as its api_key (sent as
// x-api-key) and only its baseURL changed. Each answer is printed as a JSON
// line for interop/gateway_test.go.
import Anthropic from "@anthropic-ai/sdk";

const out = (o) => console.log(JSON.stringify(o));
const client = new Anthropic({
  baseURL: process.env.INTEROP_BASE,
  apiKey: process.env.INTEROP_TOKEN,
  defaultHeaders: { "X-AgentScope-Agent": "claude-agent", "X-AgentScope-Session-Id": "anthropic-session" },
});

const msg = await client.messages.create({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "parsed" }] });
out({ step: "parsed", text: msg.content.find((b) => b.type === "text")?.text, usage: msg.usage, stop: msg.stop_reason });

const raw = await client.messages
  .create({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "raw" }] })
  .asResponse();
out({ step: "raw", status: raw.status, body: await raw.text() });

const stream = client.messages.stream({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "stream" }] });
const final = await stream.finalMessage();
out({
  step: "stream",
  text: final.content.filter((b) => b.type === "text").map((b) => b.text).join(""),
  tools: final.content.filter((b) => b.type === "tool_use").map((b) => ({ id: b.id, name: b.name, input: b.input })),
  usage: final.usage,
  stop: final.stop_reason,
});
console.log("anthropic: all calls made");
