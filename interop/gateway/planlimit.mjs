// The official OpenAI Node SDK through AgentScope's LLM gateway while the
// organisation's plan limits its events (AGENTSCOPE_PLANS_FILE): calls
// pass while their events fit, and the call whose events would not is
// refused as OpenAI refuses a call past the account's quota — a
// RateLimitError with code insufficient_quota — which the SDK does not
// retry (x-should-retry: false), though it retries 429s by default.
import OpenAI from "openai";

const base = process.env.INTEROP_BASE;
const key = process.env.INTEROP_TOKEN;
const out = (o) => console.log(JSON.stringify(o));

let fetches = 0;
const sdk = new OpenAI({
  baseURL: base + "/v1",
  apiKey: key,
  defaultHeaders: { "X-AgentScope-Agent": "plan-agent", "X-AgentScope-Session-Id": "plan-session" },
  // maxRetries is left at its default (2): a retried refusal would show
  // as more than one fetch.
  fetch: (url, init) => {
    fetches++;
    return fetch(url, init);
  },
});

// events waits until the session holds n events: each call's record is
// committed before the next call, so the limit falls on a call boundary.
async function events(n) {
  for (let i = 0; ; i++) {
    const r = await fetch(base + "/api/v1/sessions/plan-session/events?limit=1000", { headers: { Authorization: "Bearer " + key } });
    const page = r.ok ? await r.json() : { events: [] };
    if ((page.events ?? []).length >= n) return;
    if (i > 400) throw new Error(`the session never held ${n} events`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

let passed = 0;
for (let call = 1; call <= 10; call++) {
  const before = fetches;
  try {
    const r = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "call " + call } ] });
    passed++;
    out({ step: "passed", call, content: r.choices[0].message.content, fetches: fetches - before });
    // A session's first call records SessionStarted, ModelInvoked,
    // ModelCompleted and CostRecorded; the next ones three.
    await events(1 + 3 * passed);
  } catch (err) {
    out({
      step: "refused",
      call,
      passed,
      rateLimit: err instanceof OpenAI.RateLimitError,
      status: err.status,
      code: err.code,
      type: err.type,
      message: err.message,
      shouldRetry: err.headers?.get?.("x-should-retry") ?? null,
      fetches: fetches - before,
    });
    break;
  }
}
console.log("gateway: all calls made");
