// Exports a GenAI agent's trace to AgentScope's POST /v1/traces with the
// OpenTelemetry JS SDK's OTLP/HTTP exporters: protobuf (gzip) and JSON.
// TestOTLPExporters (otlp_test.go) reads the recorded sessions back and
// checks them field by field. The batch span processor (the SDK's usual
// one) sends the trace's spans in one export, so the chat and tool spans
// take the conversation id the invoke_agent span carries. Env: INTEROP_BASE (serve's base URL),
// INTEROP_TOKEN (a bearer credential with the ingest scope).
import { context, diag, DiagLogLevel, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPTraceExporter as JSONExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

const base = process.env.INTEROP_BASE;
const headers = { Authorization: `Bearer ${process.env.INTEROP_TOKEN}` };
const problems = [];
const warnings = [];
diag.setLogger({
  error: (...a) => problems.push(a.join(" ")),
  warn: (...a) => warnings.push(a.join(" ")),
  info: () => {}, debug: () => {}, verbose: () => {},
}, DiagLogLevel.WARN);

const exporters = {
  protobuf: new ProtoExporter({ url: `${base}/v1/traces`, headers, compression: "gzip" }),
  json: new JSONExporter({ url: `${base}/v1/traces`, headers }),
};

const t0 = Date.UTC(2026, 11, 4, 9, 0, 0);
for (const [name, exporter] of Object.entries(exporters)) {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "js-service" }),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer("interop");
  const agent = tracer.startSpan("invoke_agent js-agent", {
    startTime: t0,
    attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "js-agent", "gen_ai.conversation.id": `js-${name}` },
  });
  const ctx = trace.setSpan(context.active(), agent);
  tracer.startSpan("chat gpt-4o", {
    startTime: t0 + 100,
    attributes: {
      "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
      "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 80,
      "gen_ai.usage.cache_read.input_tokens": 1000, "gen_ai.response.finish_reasons": ["tool_calls"],
    },
  }, ctx).end(t0 + 1400);
  const tool = tracer.startSpan("execute_tool get_weather", {
    startTime: t0 + 1500,
    attributes: {
      "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "call_42",
      "gen_ai.tool.call.arguments": JSON.stringify({ city: "Paris" }),
    },
  }, ctx);
  tool.setStatus({ code: SpanStatusCode.ERROR, message: "upstream timed out" });
  tool.end(t0 + 1750);
  tracer.startSpan("GET /weather", { startTime: t0 + 1500, attributes: { "http.request.method": "GET" } }, ctx).end(t0 + 1700);
  agent.end(t0 + 3000);
  await provider.forceFlush();
  await provider.shutdown();
  console.log(`${name}: exported`);
}
for (const w of warnings) console.log(`warning: ${w}`);
if (problems.length > 0) {
  console.log(`export problems:\n${problems.join("\n")}`);
  process.exit(1);
}
console.log("OTLP exporters: all exports sent");
