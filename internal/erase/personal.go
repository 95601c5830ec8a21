package erase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// ErrPersonalReason: the erasure's --reason or --override-hold reason
// holds a personal value of what is to be erased (an address, a
// participant's name, a message's text). Both are recorded in the
// append-only ledger, where no erasure can remove them. Nothing was
// deleted or recorded.
var ErrPersonalReason = errors.New("a reason holds personal data of what is to be erased")

// reasonError is a refusal of a reason: it says which flag and which
// kind of value, never the value, and matches ErrPersonalReason.
type reasonError struct{ msg string }

func (e *reasonError) Error() string        { return e.msg }
func (e *reasonError) Is(target error) bool { return target == ErrPersonalReason }

// Kinds of personal value, as a refusal names them (never the value).
const (
	kindAddress = "a sender's or recipient's address"
	kindName    = "a participant's name"
	kindText    = "a message's text"
)

// The least a value must have to be matched: shorter ones are in many
// reasons by chance (a short code in a reference, "ok" in any text).
const (
	minNumber = 7  // digits of a number (a phone number)
	minOther  = 5  // characters of another address (an e-mail, an opaque id)
	minName   = 4  // letters of a one-word name
	minText   = 12 // characters of a message's text
)

// personalValues are the personal values of what is erased, by kind:
// the person's side of it only (personalOf).
type personalValues struct {
	addresses, names, texts map[string]bool
}

func (p *personalValues) add(kind, v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return
	}
	switch kind {
	case kindAddress:
		p.addresses[v] = true
	case kindName:
		p.names[v] = true
	case kindText:
		p.texts[v] = true
	}
}

// orgPurposes are the purposes of the organisation's participants: its
// agents, queues, flows and systems. Their names and addresses are the
// business's (and its staff's), not the person's.
var orgPurposes = map[string]bool{"agent": true, "user": true, "acd": true, "workflow": true, "ivr": true,
	"station": true, "voicemail": true, "fax": true, "dialer.system": true}

// personalOf reads the personal values of what is erased from the
// evidence objects of the erased entries: the openings (sender,
// recipient), the response bodies (each erased message's sender,
// recipient, text and the names its channel gives), and, for a
// conversation erased whole, its own response (its participants' names
// and addresses). Only the person's side is taken: the sender of an
// inbound message and the recipient of an outbound one, and the
// participants not of the organisation (orgPurposes); an address or
// name of the organisation's side anywhere (the business's number, its
// channel's id and name) is none of the person's. A message of no known
// direction gives both sides. An object that is absent or cannot be
// read gives none: the checks before deleting judge it.
func personalOf(ctx context.Context, store evidence.Store, erasedEntries []leaf.Entry, whole, msgs map[string]bool) (*personalValues, error) {
	p := &personalValues{addresses: map[string]bool{}, names: map[string]bool{}, texts: map[string]bool{}}
	org := &personalValues{addresses: map[string]bool{}, names: map[string]bool{}, texts: map[string]bool{}}
	erasedMsg := func(md *genesys.MessageData) bool {
		return msgs[md.ID] || whole[md.ConversationID]
	}
	// sides returns who holds the from and to side of a message going
	// direction: the person's, the organisation's, or (unknown) both the
	// person's.
	sides := func(direction string) (from, to *personalValues) {
		switch strings.ToLower(direction) {
		case "inbound":
			return p, org
		case "outbound":
			return org, p
		}
		return p, p
	}
	seen := map[hashchain.Hash]bool{}
	for _, e := range erasedEntries {
		rs, _ := e.EvidenceRefs()
		direction := ""
		if e.Kind == leaf.KindMessage {
			if dd, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
				direction = dd.(*leaf.MessageDetail).Direction
			}
		}
		for _, r := range rs {
			switch r.Role {
			case leaf.RoleHold, leaf.RoleAudit, leaf.RoleMedia:
				continue // no personal value; an attachment is not read whole
			}
			h, err := hashchain.ParseHash(r.SHA256)
			if err != nil || h.IsZero() || seen[h] {
				continue
			}
			seen[h] = true
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			b, err := evidence.GetChecked(ctx, store, h)
			if err != nil {
				continue
			}
			if o, err := leaf.ReadOpening(b); err == nil {
				from, to := sides(direction)
				from.add(kindAddress, o.Fields["from"])
				to.add(kindAddress, o.Fields["to"])
				continue
			}
			if e.Kind == leaf.KindConversation && r.Role == leaf.RoleResponse {
				var c genesys.MessageConversation
				if err := json.Unmarshal(b, &c); err == nil && c.ID == e.ConversationID {
					for _, pt := range c.Participants {
						who := p
						if orgPurposes[strings.ToLower(pt.Purpose)] {
							who = org
						}
						who.add(kindName, pt.Name)
						who.add(kindAddress, pt.Address)
					}
					continue
				}
			}
			raws, err := derive.MessagesIn(b)
			if err != nil {
				continue
			}
			for _, raw := range raws {
				md, err := derive.ReadMessage(raw)
				if err != nil || !erasedMsg(md) {
					continue
				}
				from, to := sides(md.Direction)
				from.add(kindAddress, md.FromAddress)
				to.add(kindAddress, md.ToAddress)
				p.add(kindText, genesys.MessageText(md))
				if ch := md.NormalizedMessage; ch != nil && ch.Channel != nil {
					org.add(kindAddress, ch.Channel.ID)
					if md.Direction == "" {
						from, to = sides(ch.Direction)
					}
					for _, rc := range [...]struct {
						who *personalValues
						r   *genesys.Recipient
					}{{from, ch.Channel.From}, {to, ch.Channel.To}} {
						if rc.r == nil {
							continue
						}
						rc.who.add(kindAddress, rc.r.ID)
						rc.who.add(kindName, rc.r.Nickname)
						rc.who.add(kindName, strings.TrimSpace(rc.r.FirstName+" "+rc.r.LastName))
					}
				}
			}
		}
	}
	// The organisation's own, wherever it was found, is not the person's.
	orgAddresses := map[string]bool{}
	for a := range org.addresses {
		orgAddresses[addressKey(a)] = true
	}
	for a := range p.addresses {
		if orgAddresses[addressKey(a)] {
			delete(p.addresses, a)
		}
	}
	for n := range org.names {
		for m := range p.names {
			if fold(m) == fold(n) {
				delete(p.names, m)
			}
		}
	}
	return p, nil
}

// addressKey is what two spellings of one address share: a number's
// digits, another address folded.
func addressKey(a string) string {
	if d, ok := number(a); ok {
		return "#" + strings.TrimLeft(d, "0")
	}
	return fold(a)
}

// in returns the kind of the first personal value reason holds, or "".
// The rules, each kept simple enough to say in a refusal's help:
//   - A number (an address of digits, spaces, dashes, dots, brackets, a
//     plus, perhaps after "tel:" or the like) of at least minNumber
//     digits is in the reason when a number there, read from the start
//     of one group of digits to the end of the same or a later group
//     of its (digits with at most three of those characters between
//     them), leading zeros dropped, has minNumber digits or more and is
//     how the address ends: "+44 7700 900123", "07700 900123" and
//     "(+44) 7700-900-123" are +447700900123; "ref 1727270" holds no
//     short code, "9447700900123" no phone number.
//   - Another address, of minOther characters or more, in any case, as
//     whole words (no letter or digit either side).
//   - A name of two words or more, in any case and spacing, as whole
//     words; a one-word name only as written (capitalised as the
//     person's), with minName letters or more, and not a common word
//     or label (commonNames, commonWords): "Will" never, "Leilani" but
//     not "leilani".
//   - A message's text of minText characters or more, in any case and
//     spacing, as whole words, unless it is made only of common words
//     (commonWords: "delete my data"), which say nothing of the person.
func (p *personalValues) in(reason string) string {
	norm := fold(reason)
	for a := range p.addresses {
		if d, ok := number(a); ok {
			if len(strings.TrimLeft(d, "0")) >= minNumber && numberIn(reason, d) {
				return kindAddress
			}
		} else if f := fold(a); utf8.RuneCountInString(f) >= minOther && containsWord(norm, f) {
			return kindAddress
		}
	}
	spaced := strings.Join(strings.Fields(reason), " ")
	for n := range p.names {
		f := fold(n)
		switch ws := strings.Fields(f); {
		case len(ws) >= 2:
			if !allCommon(ws, false) && containsWord(norm, f) {
				return kindName
			}
		case len(ws) == 1 && letters(f) >= minName && !commonNames[f] && !commonWords[f]:
			if containsWord(spaced, strings.TrimSpace(n)) {
				return kindName
			}
		}
	}
	for t := range p.texts {
		f := fold(t)
		if utf8.RuneCountInString(f) >= minText && !allCommon(wordsOf(f), true) && containsWord(norm, f) {
			return kindText
		}
	}
	return ""
}

// reasonRefusal checks the reasons the erasure would record against p.
func reasonRefusal(p *personalValues, reason, override string) error {
	for _, r := range [...]struct{ flag, text string }{{"--reason", reason}, {"--override-hold", override}} {
		if kind := p.in(r.text); kind != "" {
			return &reasonError{fmt.Sprintf("erase: refused, nothing erased: %s holds %s of what is to be erased; a reason is recorded in the ledger, which is append-only, so it would be kept there forever, where no erasure can remove it: rephrase it without the person's name, number, address or words (a word or phrase of it is theirs; this message does not repeat it), or give a reference instead (a request or ticket number)", r.flag, kind)}
		}
	}
	return nil
}

// number returns the digits of a, when a is a number: digits and the
// characters numbers are written with (space - . ( ) / +), perhaps after
// a scheme ("tel:", "whatsapp:").
func number(a string) (string, bool) {
	a = strings.TrimSpace(a)
	if i := strings.IndexByte(a, ':'); i > 0 && strings.IndexFunc(a[:i], func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
		a = a[i+1:]
	}
	d := digits(a)
	if d == "" || strings.IndexFunc(a, func(r rune) bool { return !isDigit(r) && !isNumberSep(r) }) >= 0 {
		return "", false
	}
	return d, true
}

// numberIn reports whether reason holds the number whose digits are d
// (personalValues.in says how).
func numberIn(reason, d string) bool {
	var groups []string // of the chain being read
	check := func() bool {
		for i := range groups {
			s := ""
			for j := i; j < len(groups); j++ {
				s += groups[j]
				if t := strings.TrimLeft(s, "0"); len(t) >= minNumber && strings.HasSuffix(d, t) {
					return true
				}
			}
		}
		return false
	}
	rs := []rune(reason)
	for i := 0; i < len(rs); {
		if !isDigit(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && isDigit(rs[j]) {
			j++
		}
		groups = append(groups, string(rs[i:j]))
		// The next group is of the same number when at most three
		// separators lie between.
		k := j
		for k < len(rs) && k-j < 4 && isNumberSep(rs[k]) {
			k++
		}
		if k == j || k-j > 3 || k == len(rs) || !isDigit(rs[k]) {
			if check() {
				return true
			}
			groups = groups[:0]
		}
		i = k
	}
	return false
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isNumberSep(r rune) bool { return strings.ContainsRune(" -.()/+", r) }

// letters counts the letters of s.
func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// wordsOf splits s (folded) into its words: runs of letters and digits.
func wordsOf(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) })
}

// allCommon reports whether every word of ws is common (commonWords,
// commonNames, or, with short, one or two letters: "m" of "i'm", where
// a name's "Li" is not); a number never is.
func allCommon(ws []string, short bool) bool {
	for _, w := range ws {
		if commonWords[w] || commonNames[w] || (short && utf8.RuneCountInString(w) <= 2 && letters(w) > 0) {
			continue
		}
		return false
	}
	return true
}

// commonWords are words of any message, and those of a request to
// erase, which a reason may well hold: a text made only of them ("delete
// my data", "is anyone there?") says nothing of the person, and a
// one-word name that is one ("Help") is not matched.
var commonWords = setOf(`about after again all also am an and any anyone anything are art article as ask asked asking at
	back be been but by can cancel chat close contact conversation could data dear delete deleted deleting deletion
	details did do does done dsr email erase erased erasure every everything for forget forgotten from gdpr get go
	had has have hello help hey hi history how if in info information is it just keep know let like me message
	messages more my need no not now number of ok okay on or our out personal phone please record records remove
	removed request requested right so some stop thank thanks that the them then there this to unsubscribe us want
	wanted was we what when where why will with would yes you your account`)

// commonNames are one-word names that are ordinary words, or labels a
// channel gives whoever it does not know: "erasure will proceed" does
// not name Will, "Customer asked" no customer.
var commonNames = setOf(`will may mark bill case grace hope joy faith june april august rose page frank grant chase
	hunter dawn summer rich guy king young white black brown green gray grey
	customer client guest visitor user unknown anonymous support agent team sales service helpdesk admin bot
	whatsapp messenger sms webchat operator staff office company`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// fold lower-cases s and makes each run of white space one space.
func fold(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if isDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// containsWord reports whether s holds w with no letter or digit
// either side of it.
func containsWord(s, w string) bool {
	if w == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before, after := rune(' '), rune(' ')
		if j > 0 {
			before, _ = utf8.DecodeLastRuneInString(s[:j])
		}
		if k := j + len(w); k < len(s) {
			after, _ = utf8.DecodeRuneInString(s[k:])
		}
		if !isWordRune(before) && !isWordRune(after) {
			return true
		}
		i = j + 1
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
