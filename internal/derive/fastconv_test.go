package derive

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
)

// conversationSeeds: a conversation object as the simulator serves it
// (trimmed), and the shapes readConversationFast must decline or read as
// encoding/json does.
var conversationSeeds = []string{
	`{"id":"a2808020-71aa","participants":[{"id":"2baf","name":"Björn Cohen","address":"+61485902269","purpose":"customer",` +
		`"attributes":{"context.name":"Björn Cohen","whatsapp.optIn":"true"},"toAddress":{"name":"Demo","addressNormalized":"+3167"},` +
		`"messages":[{"messageId":"34f6","messageURI":"/api/v2/conversations/messages/a280/messages/34f6","messageStatus":"received",` +
		`"messageSegmentCount":1,"messageTime":"2024-03-05T20:15:19.928Z"},{"messageId":"b225","messageStatus":"received"}]},` +
		`{"id":"agent","purpose":"agent","messages":[{"messageId":"34f6"},{"messageId":"c3"}]},{"id":"acd","purpose":"acd"}],` +
		`"divisions":[{"division":{"id":"d"},"entities":[{"id":"e"}]}],"selfUri":"/api/v2/conversations/messages/a280"}`,
	`{}`, `{"id":"x"}`, `{"participants":[]}`, `{"participants":[{}]}`, `{"participants":[{"messages":[]}]}`,
	`{"participants":[{"messages":[{}]}]}`, ` {"id" : "x" , "participants" : [ { "messages" : [ { "messageId" : "m" } ] } ] } `,
	`{"id":"a","ID":"b"}`, `{"id":"a","id":"b"}`, `{"id":null}`, `{"participants":null}`, `{"participants":[null]}`,
	`{"participants":[{"messages":null}]}`, `{"participants":[{"messages":[null]}]}`, `{"participants":[{"messages":[{"messageId":null}]}]}`,
	`{"participants":[{"Messages":[]}]}`, `{"participants":[{"messages":[{"MessageID":"m"}]}]}`, `{"participants":[{"messages":[{"messageId":1}]}]}`,
	`{"participants":{}}`, `{"id":1}`, `[]`, `"x"`, `{"id":"x"} {}`, `{"id":"\u00e9\ud83d\ude00"}`, `{"id":"\ud800"}`, "{\"id\":\"\xff\"}",
	`{"participants":[{"messages":[{"messageId":"m","x":[1,2,{"y":null}]}]}],"z":1e5}`, `{"ſd":"x"}`, `{"id":"x",}`,
}

// checkConversationFast holds readConversationFast to json.Unmarshal into
// conversationRefs: when the fast path answers, encoding/json accepts the
// body and decodes the same id and message ids, participant by
// participant.
func checkConversationFast(t *testing.T, body []byte) bool {
	t.Helper()
	fast, ok := readConversationFast(body)
	if !ok {
		return false
	}
	var mc conversationRefs
	if err := json.Unmarshal(body, &mc); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json: %v", body, err)
	}
	if got, want := refsOf(fast), refsOf(mc.conversation()); !reflect.DeepEqual(got, want) {
		t.Fatalf("fast path on %q:\n got %q\nwant %q", body, got, want)
	}
	return true
}

// refsOf is what ReadConversation uses of a conversation: its id, then
// each participant's message ids (empty and absent alike).
func refsOf(mc genesys.MessageConversation) [][]string {
	out := [][]string{{mc.ID}}
	for _, p := range mc.Participants {
		ids := []string{}
		for _, m := range p.Messages {
			ids = append(ids, m.MessageID)
		}
		out = append(out, ids)
	}
	return out
}

func TestReadConversationFast(t *testing.T) {
	answered := 0
	for _, s := range conversationSeeds {
		if checkConversationFast(t, []byte(s)) {
			answered++
		}
	}
	if _, ok := readConversationFast([]byte(conversationSeeds[0])); !ok || answered < 8 {
		t.Fatalf("the fast path answered %d seeds (the simulator's object: %v)", answered, ok)
	}
	// ReadConversation is the same through either path.
	facts, ids, err := ReadConversation([]byte(conversationSeeds[0]))
	if err != nil || facts.ID != "a2808020-71aa" || facts.Messages != 3 || !reflect.DeepEqual(ids, []string{"34f6", "b225", "c3"}) {
		t.Fatalf("ReadConversation: %+v %q %v", facts, ids, err)
	}
}

func FuzzReadConversationFast(f *testing.F) {
	for _, s := range conversationSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkConversationFast(t, body)
	})
}
