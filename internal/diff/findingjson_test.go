package diff

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/custodyhq/custody/internal/finding"
)

// FuzzFindingJSON holds Finding.AppendJSON to json.Marshal byte for byte:
// the stored findings' hash depends on it.
func FuzzFindingJSON(f *testing.F) {
	f.Add("field_stripped", "conv-1", "msg-1", "legal_hold", "true", "", "a/b.json", "messages[0]: required field absent", "", 0)
	f.Add("value_altered", "c", "m", "sender", "+44 <1>", "&x\u2028\u2029", "dir/\"q\".json", "tab\there\nnew\r\b\f\x01\x1f\x7f", "", -3)
	f.Add("", "", "", "", "", "", "", "", "", 0)
	f.Add("k", "\xff\xfe", "a\xc3", "\xed\xa0\x80", "é", "😀", "\\", "\u00e9\U0001F600", "<cause>", 1<<40)
	f.Add("conversation_absent", "c", "", "", "", "", "", "captured (3 messages)", "pending_data_lake", 0)
	f.Add("format_lacks", "", "", "legal_hold", "false=253;true=18", "", "", "the genesys shape keeps no legal_hold", "", 271)
	f.Fuzz(func(t *testing.T, kind, conv, msg, field, expected, got, file, detail, cause string, count int) {
		fd := Finding{Kind: finding.Kind(kind), ConversationID: conv, MessageID: msg, Field: field, Expected: expected, Got: got, File: file, Detail: detail, Cause: finding.Cause(cause), Count: count}
		want, err := json.Marshal(fd)
		if err != nil {
			t.Fatal(err)
		}
		if have := fd.AppendJSON(nil); !bytes.Equal(have, want) {
			t.Fatalf("AppendJSON:\n%s\njson.Marshal:\n%s", have, want)
		}
	})
}

func BenchmarkFindingJSON(b *testing.B) {
	fd := Finding{Kind: finding.FieldStripped, ConversationID: "0b2f6a3c-5d1e-4c7a-9f00-1e2d3c4b5a69", MessageID: "9f86d081884c7d659a2feaa0c55ad015",
		Field: finding.FieldLegalHold, Expected: "true", File: "conversation_id=0b2f6a3c-5d1e-4c7a-9f00-1e2d3c4b5a69/recording_1_metadata.json",
		Detail: "messages[3]: required field absent from the export"}
	b.Run("AppendJSON", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = fd.AppendJSON(buf[:0])
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(fd); err != nil {
				b.Fatal(err)
			}
		}
	})
}
