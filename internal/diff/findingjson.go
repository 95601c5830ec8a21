package diff

import (
	"strconv"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// AppendJSON appends f as json.Marshal writes it — the same members,
// omitempty, and the same escaping (HTML characters, U+2028 and U+2029,
// invalid UTF-8 as U+FFFD) — so findings written through it hash exactly
// as encoding/json's would. A large diff writes millions of findings, two
// or three times each (the stored copy, the output); reflection was a
// visible part of its CPU. FuzzFindingJSON holds the two together.
func (f *Finding) AppendJSON(b []byte) []byte {
	b = append(b, `{"kind":`...)
	b = jsonscan.AppendStringEncodingJSON(b, string(f.Kind))
	for _, m := range [...]struct {
		key, val string
	}{
		{`,"conversation_id":`, f.ConversationID},
		{`,"message_id":`, f.MessageID},
		{`,"field":`, f.Field},
		{`,"expected":`, f.Expected},
		{`,"got":`, f.Got},
		{`,"file":`, f.File},
		{`,"detail":`, f.Detail},
		{`,"cause":`, string(f.Cause)},
	} {
		if m.val != "" {
			b = append(b, m.key...)
			b = jsonscan.AppendStringEncodingJSON(b, m.val)
		}
	}
	if f.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(f.Count), 10)
	}
	return append(b, '}')
}
