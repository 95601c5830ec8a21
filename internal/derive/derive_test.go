package derive

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
)

var payloadSeeds = []string{
	`{"id":"m1","timestamp":"2024-03-01T20:07:38.363Z","textBody":"hi <&> \u00e9 🙂","media":[{"contentLengthBytes":12}]}`,
	`{"b":1,"a":{"z":[1,2,{"y":null,"x":true}],"é":"\u0001"}}`,
	`{"n":1.5e3,"m":-0,"big":12345678901234567890}`, // the general canonicaliser's numbers
	`{"\ud83d\ude00":1,"\uffff":2}`,                 // supplementary-plane keys: UTF-16 order
	`{"a":1,"a":2}`,                                 // refused by both
	`{"a":"\ud800"}`,                                // a lone surrogate: refused by both
	`[1,2,3]`,
}

// TestPayloadHash holds derive.PayloadHash to hashchain.PayloadHash, the
// definition: same hash, same refusals.
func TestPayloadHash(t *testing.T) {
	for _, s := range payloadSeeds {
		got, gotErr := PayloadHash([]byte(s))
		want, wantErr := hashchain.PayloadHash([]byte(s))
		if (gotErr == nil) != (wantErr == nil) || got != want {
			t.Errorf("%s: %s %v, want %s %v", s, got, gotErr, want, wantErr)
		}
	}
}

func FuzzPayloadHash(f *testing.F) {
	for _, s := range payloadSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, gotErr := PayloadHash(raw)
		want, wantErr := hashchain.PayloadHash(raw)
		if (gotErr == nil) != (wantErr == nil) || got != want {
			t.Fatalf("%q: %s %v, want %s %v", raw, got, gotErr, want, wantErr)
		}
	})
}

var bodySeeds = []string{
	`{"entities":[{"id":"a"},{"id":"b","x":[1,{"y":2}]}],"pageSize":2}`,
	` { "entities" : [ ] } `,
	`{"id":"single","timestamp":"t"}`,
	`{"Entities":[{"id":"a"}]}`,
	`{"entities":[{"id":"a"}],"entities":[{"id":"b"}]}`,
	`{"entities":null}`,
	`{"entities":[1,]}`,
	`{"entities":{"id":"a"}}`,
	`[{"id":"a"}]`,
}

// FuzzMessagesIn: whenever the fast split answers, encoding/json (the
// reference) gives the same messages.
func FuzzMessagesIn(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := messagesFast(body)
		if !ok {
			return
		}
		var top struct {
			Entities []json.RawMessage `json:"entities"`
		}
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatalf("fast path split what encoding/json refuses (%v): %q", err, body)
		}
		if len(fast) != len(top.Entities) {
			t.Fatalf("%q: %d messages, encoding/json %d", body, len(fast), len(top.Entities))
		}
		for i := range fast {
			if string(fast[i]) != string(top.Entities[i]) {
				t.Fatalf("%q: message %d is %q, encoding/json %q", body, i, fast[i], top.Entities[i])
			}
		}
	})
}

func TestMessagesIn(t *testing.T) {
	for _, c := range []struct {
		body string
		want []string // nil: an error
	}{
		{bodySeeds[0], []string{`{"id":"a"}`, `{"id":"b","x":[1,{"y":2}]}`}},
		{bodySeeds[1], []string{}},
		{bodySeeds[2], []string{bodySeeds[2]}},
		{bodySeeds[3], []string{`{"id":"a"}`}}, // as encoding/json matches keys
		{bodySeeds[4], []string{`{"id":"b"}`}}, // last wins, as encoding/json reads it
		{bodySeeds[6], nil},
		{bodySeeds[7], nil},
	} {
		got, err := MessagesIn([]byte(c.body))
		if c.want == nil {
			if err == nil {
				t.Errorf("%s: no error", c.body)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		var s []string
		for _, r := range got {
			s = append(s, string(r))
		}
		if len(s) != len(c.want) || (len(s) > 0 && !reflect.DeepEqual(s, c.want)) {
			t.Errorf("%s: %q, want %q", c.body, s, c.want)
		}
	}
}

// TestAuditIndex: a record concerns its entity and each other entity its
// changes name; refs are sorted, and [] (not nil) for none.
func TestAuditIndex(t *testing.T) {
	x := AuditIndex{}
	x.Add(&genesys.AuditQueryExecutionResults{Entities: []genesys.AuditLogMessage{
		{ID: "r2", Entity: &genesys.DomainEntityRef{ID: "c1"}, EntityChanges: []genesys.EntityChange{{EntityID: "c1"}, {EntityID: "c2"}}},
		{ID: "r1", Entity: &genesys.DomainEntityRef{ID: "c1"}},
		{ID: "r3", EntityChanges: []genesys.EntityChange{{EntityID: "c2"}}},
	}})
	if got := x.Refs("c1"); !reflect.DeepEqual(got, []string{"r1", "r2"}) {
		t.Errorf("c1: %q", got)
	}
	if got := x.Refs("c2"); !reflect.DeepEqual(got, []string{"r2", "r3"}) {
		t.Errorf("c2: %q", got)
	}
	if got := x.Refs("c3"); got == nil || len(got) != 0 {
		t.Errorf("c3: %#v", got)
	}
}

// TestAuditIndexContext: an entry about a recording (entityType
// Recording, its entity the recording) concerns the conversation its
// context names, under any key; a context value already named as the
// entity or in entityChanges adds no second mention.
func TestAuditIndexContext(t *testing.T) {
	x := AuditIndex{}
	x.Add(&genesys.AuditQueryExecutionResults{Entities: []genesys.AuditLogMessage{
		{ID: "r1", Entity: &genesys.DomainEntityRef{ID: "rec1"}, EntityType: "Recording", Context: map[string]string{"conversationId": "c1"}},
		{ID: "r2", Entity: &genesys.DomainEntityRef{ID: "c1"}, EntityType: "Conversation", Context: map[string]string{"conversationId": "c1", "other": "c1"}},
		{ID: "r3", Entity: &genesys.DomainEntityRef{ID: "rec2"}, EntityType: "Recording", Context: map[string]string{"whatever": "c2", "empty": ""}},
		{ID: "r4", Entity: &genesys.DomainEntityRef{ID: "rec3"}, EntityType: "Recording"},
	}})
	if got := x.Refs("c1"); !reflect.DeepEqual(got, []string{"r1", "r2"}) {
		t.Errorf("c1: %q", got)
	}
	if got := x.Refs("c2"); !reflect.DeepEqual(got, []string{"r3"}) {
		t.Errorf("c2: %q", got)
	}
	if got := x.Refs("rec3"); !reflect.DeepEqual(got, []string{"r4"}) {
		t.Errorf("rec3: %q", got)
	}
	if got := AuditSubjects(genesys.AuditLogMessage{Entity: &genesys.DomainEntityRef{ID: "c1"}, Context: map[string]string{"b": "c3", "a": "c2"}}); !reflect.DeepEqual(got, []string{"c1", "c2", "c3"}) {
		t.Errorf("subjects %q: want the entity, then context values by key", got)
	}
}

func TestHeld(t *testing.T) {
	set, err := ReadHold([]byte(`[{"id":"c1","selfUri":"/x"},{"id":"c3"}]`))
	if err != nil || !set["c1"] || set["c2"] || !set["c3"] {
		t.Fatalf("%v %v", set, err)
	}
	if !Held([]genesys.EntityRef{{ID: "c1"}}, "c1") || Held(nil, "c1") {
		t.Fatal("Held")
	}
	if _, err := ReadHold([]byte(`{"entities":[]}`)); err == nil {
		t.Fatal("an object read as a deletion-protection response")
	}
}
