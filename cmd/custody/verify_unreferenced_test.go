package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestStoppedCheckShowsNoUnreferencedCount (review-commits7 L2): when
// the evidence check stopped early the store was never listed, so no
// count of unreferenced objects is shown: the text says "unreferenced
// not checked", the JSON leaves unreferenced and unreferenced_altered
// out. Before, it printed "0 unreferenced" and "unreferenced": 0. A
// check that ran to the end still shows them, 0 included.
func TestStoppedCheckShowsNoUnreferencedCount(t *testing.T) {
	var text bytes.Buffer
	if err := printReport(&globalOptions{stdout: &text}, stoppedEvidenceReport()); err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(text.String(), "\n") {
		if strings.HasPrefix(l, "evidence ") {
			line = l
		}
	}
	if !strings.Contains(line, ", 22765 not checked (the check stopped early), unreferenced not checked; ") || strings.Contains(line, "0 unreferenced") {
		t.Errorf("evidence line of a stopped check: %q", line)
	}

	for _, stopped := range []bool{true, false} {
		rep := stoppedEvidenceReport()
		rep.Evidence.Stopped = stopped
		// A store name that spells the members: left as it is.
		rep.Evidence.Store = `/m/"unreferenced":0,"unreferenced_altered":0,`
		var out bytes.Buffer
		if err := printReport(&globalOptions{stdout: &out, Output: "json"}, rep); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Evidence map[string]json.RawMessage `json:"evidence"`
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("stopped %v: %v in\n%s", stopped, err, out.String())
		}
		for _, k := range []string{"unreferenced", "unreferenced_altered"} {
			if _, there := doc.Evidence[k]; there == stopped {
				t.Errorf("stopped %v: evidence.%s there: %v, want %v", stopped, k, there, !stopped)
			}
		}
		var store string
		if err := json.Unmarshal(doc.Evidence["store"], &store); err != nil || store != rep.Evidence.Store {
			t.Errorf("stopped %v: store %q (%v), want %q", stopped, store, err, rep.Evidence.Store)
		}
		for _, k := range []string{"referenced", "missing", "altered", "checkpoint_copies", "unreadable", "not_checked"} {
			if _, there := doc.Evidence[k]; !there {
				t.Errorf("stopped %v: evidence.%s left out", stopped, k)
			}
		}
	}
}
