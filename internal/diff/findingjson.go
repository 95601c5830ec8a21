package diff

import (
	"unicode/utf8"
)

// AppendJSON appends f as json.Marshal writes it — the same members,
// omitempty, and the same escaping (HTML characters, U+2028 and U+2029,
// invalid UTF-8 as U+FFFD) — so findings written through it hash exactly
// as encoding/json's would. A large diff writes millions of findings, two
// or three times each (the stored copy, the output); reflection was a
// visible part of its CPU. FuzzFindingJSON holds the two together.
func (f *Finding) AppendJSON(b []byte) []byte {
	b = append(b, `{"kind":`...)
	b = appendString(b, string(f.Kind))
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
	} {
		if m.val != "" {
			b = append(b, m.key...)
			b = appendString(b, m.val)
		}
	}
	return append(b, '}')
}

// safeASCII marks the ASCII bytes encoding/json writes as they are
// (HTML escaping on).
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's string encoding with HTML escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
