package report

import (
	"fmt"
	"html/template"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What a report shows of text it did not write itself (captured from
// Genesys, or given by the custodian: the matter's name, a hold's reason,
// an operator): every character that would act on the page instead of
// being seen — a bidirectional control that reorders the text after it
// (U+202E made "inv\u202efdp.exe" read "invexe.pdf"), a C0 or C1 control
// the PDF drops, a NUL the browser turns into U+FFFD, a zero-width
// character — is shown as a marker naming it, ⟨U+202E⟩, styled apart
// from the text. report.json keeps the text exactly. docs/report.md
// states the rule.

// hidden says whether r is shown as a marker. multiline: the text is a
// message's, where a line feed and a tab are shown as what they are.
func hidden(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !multiline
	case r == '\u200c' || r == '\u200d':
		// The zero-width joiners shape scripts and emoji sequences and
		// reorder nothing.
		return false
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)
}

// marker is how a hidden character, or a byte that is not UTF-8, is
// written.
func marker(r rune, invalid byte, isInvalid bool) string {
	if isInvalid {
		return fmt.Sprintf("⟨0x%02X⟩", invalid)
	}
	return fmt.Sprintf("⟨U+%04X⟩", r)
}

// visible writes s with every hidden character as its marker: escape
// escapes the text between them and wrap writes a marker.
func visible(s string, multiline bool, escape func(string) string, wrap func(string) string) string {
	clean := true
	for i, r := range s {
		if hidden(r, multiline) || r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			clean = false
			break
		}
	}
	if clean {
		return escape(s)
	}
	var b strings.Builder
	from := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		bad := r == utf8.RuneError && n == 1
		if multiline && r == '\r' && strings.HasPrefix(s[i:], "\r\n") {
			i += 2 // a CR LF line break is shown as the line break it is
			continue
		}
		if !bad && !hidden(r, multiline) {
			i += n
			continue
		}
		b.WriteString(escape(s[from:i]))
		b.WriteString(wrap(marker(r, s[i], bad)))
		i += n
		from = i
	}
	b.WriteString(escape(s[from:]))
	return b.String()
}

// show is the HTML of a one-line text (a name, an address, a file name, a
// reason): escaped, every hidden character a marker.
func show(s string) template.HTML {
	return template.HTML(visible(s, false, template.HTMLEscapeString, func(m string) string {
		return `<span class="ctl">` + m + `</span>`
	}))
}

// showText is show for a message's text, which keeps its line breaks and
// tabs.
func showText(s string) template.HTML {
	return template.HTML(visible(s, true, template.HTMLEscapeString, func(m string) string {
		return `<span class="ctl">` + m + `</span>`
	}))
}

// plain is s with every hidden character a marker, as plain text: for
// where no markup goes (the page's title, its running header).
func plain(s string) string {
	return visible(s, false, func(s string) string { return s }, func(m string) string { return m })
}

// showKey is a verifier key NAME+HASH+KEY as show gives it, each
// '+'-separated field unbroken and a line break allowed only after a
// '+': a reader copies the key from the printed page, and a break at a
// hyphen of its name lost the hyphen in the PDF's text (pdftotext).
func showKey(s string) template.HTML {
	var b strings.Builder
	for i, part := range strings.Split(s, "+") {
		if i > 0 {
			b.WriteString("+<wbr>")
		}
		b.WriteString(`<span class="nobr">`)
		b.WriteString(string(show(part)))
		b.WriteString(`</span>`)
	}
	return template.HTML(b.String())
}

// funcs are the templates' functions.
var funcs = template.FuncMap{"show": show, "showText": showText, "showKey": showKey, "plain": plain, "hasAttestations": hasAttestations, "checkpointKeys": checkpointKeys}
