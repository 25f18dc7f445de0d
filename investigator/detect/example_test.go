package detect_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/investigator/detect"
)

func ExampleRun() {
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var events []agentscope.Event
	for i := range 3 {
		events = append(events, agentscope.Event{
			EventID: fmt.Sprintf("ev-%d", i+1), SessionID: "s1", Seq: int64(i + 1),
			Type: agentscope.ToolCalled, TS: start.Add(time.Duration(i) * time.Second),
			Tool: "search", CallID: fmt.Sprintf("c%d", i), Arguments: json.RawMessage(`{"q":"acme"}`),
		})
	}
	findings, err := detect.Run("s1", events, detect.Baseline{}, detect.Config{Index: "agentscope"})
	if err != nil {
		panic(err)
	}
	for _, f := range findings {
		fmt.Println(f.Kind, f.Severity, f.EventIDs)
		fmt.Println(f.Detail)
		fmt.Println(f.SPL)
	}
	// Output:
	// loop high [ev-1 ev-2 ev-3]
	// Tool search was called 3 times in a row with the same arguments (seq 1, 2, 3).
	// index="agentscope" sourcetype="agentscope:events" session_id="s1" type="ToolCalled" | where tool="search" | table _time seq event_id tool call_id arguments.*
}
