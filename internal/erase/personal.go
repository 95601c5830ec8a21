package erase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

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

// minText is the shortest message text a reason is checked for: a
// shorter one ("ok", "thanks") is in many reasons by chance.
const minText = 8

// personalValues are the personal values of what is erased, by kind.
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
		if len(v) >= 5 {
			p.addresses[v] = true
		}
	case kindName:
		if len([]rune(v)) >= 3 {
			p.names[v] = true
		}
	case kindText:
		if len([]rune(v)) >= minText {
			p.texts[v] = true
		}
	}
}

// personalOf reads the personal values of what is erased from the
// evidence objects of the erased entries: the openings (sender,
// recipient), the response bodies (each erased message's sender,
// recipient, text and the names its channel gives), and, for a
// conversation erased whole, its own response (its participants' names
// and addresses). An object that is absent or cannot be read gives none:
// the checks before deleting judge it.
func personalOf(ctx context.Context, store evidence.Store, erasedEntries []leaf.Entry, whole, msgs map[string]bool) (*personalValues, error) {
	p := &personalValues{addresses: map[string]bool{}, names: map[string]bool{}, texts: map[string]bool{}}
	erasedMsg := func(md *genesys.MessageData) bool {
		return msgs[md.ID] || whole[md.ConversationID]
	}
	seen := map[hashchain.Hash]bool{}
	for _, e := range erasedEntries {
		rs, _ := e.EvidenceRefs()
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
				p.add(kindAddress, o.Fields["from"])
				p.add(kindAddress, o.Fields["to"])
				continue
			}
			if e.Kind == leaf.KindConversation && r.Role == leaf.RoleResponse {
				var c genesys.MessageConversation
				if err := json.Unmarshal(b, &c); err == nil && c.ID == e.ConversationID {
					for _, pt := range c.Participants {
						p.add(kindName, pt.Name)
						p.add(kindAddress, pt.Address)
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
				p.add(kindAddress, md.FromAddress)
				p.add(kindAddress, md.ToAddress)
				p.add(kindText, genesys.MessageText(md))
				if md.NormalizedMessage != nil && md.NormalizedMessage.Channel != nil {
					for _, rc := range []*genesys.Recipient{md.NormalizedMessage.Channel.From, md.NormalizedMessage.Channel.To} {
						if rc == nil {
							continue
						}
						p.add(kindAddress, rc.ID)
						p.add(kindName, rc.Nickname)
						p.add(kindName, strings.TrimSpace(rc.FirstName+" "+rc.LastName))
					}
				}
			}
		}
	}
	return p, nil
}

// in returns the kind of the first personal value reason holds, or "".
// Names and texts are matched without regard to case or runs of white
// space, a name as whole words; an address by its digits when it is a
// number (a phone number written with spaces or dashes is the same
// number), else without regard to case.
func (p *personalValues) in(reason string) string {
	norm := fold(reason)
	ds := digits(reason)
	for a := range p.addresses {
		if d := digits(a); len(d) >= 8 && len(d)*2 >= len(strings.TrimSpace(a)) {
			if strings.Contains(ds, d) {
				return kindAddress
			}
		} else if strings.Contains(norm, fold(a)) {
			return kindAddress
		}
	}
	for n := range p.names {
		if containsWord(norm, fold(n)) {
			return kindName
		}
	}
	for t := range p.texts {
		if strings.Contains(norm, fold(t)) {
			return kindText
		}
	}
	return ""
}

// reasonRefusal checks the reasons the erasure would record against p.
func reasonRefusal(p *personalValues, reason, override string) error {
	for _, r := range [...]struct{ flag, text string }{{"--reason", reason}, {"--override-hold", override}} {
		if kind := p.in(r.text); kind != "" {
			return &reasonError{fmt.Sprintf("erase: refused, nothing erased: %s holds %s of what is to be erased; a reason is recorded in the ledger, which is append-only, so it would be kept there forever, where no erasure can remove it: give a reference instead (a request or ticket number), no name, number, address or text of the person", r.flag, kind)}
		}
	}
	return nil
}

// fold lower-cases s and makes each run of white space one space.
func fold(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// containsWord reports whether s holds w with no letter or digit
// either side of it.
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before, after := rune(' '), rune(' ')
		if j > 0 {
			before = lastRune(s[:j])
		}
		if k := j + len(w); k < len(s) {
			after = []rune(s[k:])[0]
		}
		if !isWordRune(before) && !isWordRune(after) {
			return true
		}
		i = j + 1
	}
}

func lastRune(s string) rune {
	r := []rune(s)
	return r[len(r)-1]
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
