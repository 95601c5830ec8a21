package leaf

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// FieldProofFormat is the "format" of a proof file that also proves
// field values (custody prove --fields): the members of a ProofFormat
// file and "fields".
const FieldProofFormat = "custody-proof/v3"

// ProvedField is one field a field proof reveals: its value, as JSON,
// and, for a personal field of a v3 message (PersonalFields), the field's
// salt (FieldSalt of the message's salt), which opens its commitment and
// nothing else.
type ProvedField struct {
	Name  string
	Value json.RawMessage
	Salt  *[32]byte
}

// ProvableFields are the names custody prove --fields takes, and where
// each is in the entry: a personal field in the detail, committed in v3
// and in clear in v1; the others in clear.
var ProvableFields = [...]string{
	"audit_refs", "content_sha256", "conversation_id", "date_deleted", "date_modified", "direction",
	"evidence_sha256", "from", "legal_hold", "message_id", "messenger_type", "payload_sha256",
	"provider_message_id", "timestamp", "to",
}

// clearValue is the JSON value of field name as the entry holds it in
// clear; ok false for a committed field of a v3 message.
func clearValue(e *Entry, d *MessageDetail, name string) (json.RawMessage, bool, error) {
	str := func(s string) json.RawMessage { return jsonscan.AppendStringRFC8785(nil, s) }
	c := e.Compliance
	if c == nil {
		c = &Compliance{AuditRefs: []string{}}
	}
	switch name {
	case "legal_hold":
		switch {
		case c.LegalHold == nil:
			return json.RawMessage("null"), true, nil
		case *c.LegalHold:
			return json.RawMessage("true"), true, nil
		}
		return json.RawMessage("false"), true, nil
	case "timestamp":
		return str(c.OriginalTimestamp), true, nil
	case "audit_refs":
		b := []byte{'['}
		for i, r := range c.AuditRefs {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendStringRFC8785(b, r)
		}
		return append(b, ']'), true, nil
	case "conversation_id":
		return str(e.ConversationID), true, nil
	case "message_id":
		return str(e.MessageID), true, nil
	case "payload_sha256":
		return str(e.PayloadSHA256.String()), true, nil
	case "evidence_sha256":
		return str(e.EvidenceSHA256.String()), true, nil
	case "direction":
		return str(d.Direction), true, nil
	case "messenger_type":
		return str(d.MessengerType), true, nil
	case "date_modified":
		return str(d.DateModified), true, nil
	case "date_deleted":
		return str(d.DateDeleted), true, nil
	}
	if !IsPersonalField(name) {
		return nil, false, fmt.Errorf("no field %q (provable: %s)", name, strings.Join(ProvableFields[:], ", "))
	}
	if e.V == FormatV3 {
		return nil, false, nil // committed: checkedSaltedDetail holds the commitment there
	}
	v := map[string]string{"content_sha256": d.ContentSHA256, "from": d.From, "to": d.To, "provider_message_id": d.ProviderMessageID}[name]
	return str(v), true, nil
}

func messageDetail(e *Entry) (*MessageDetail, error) {
	if e.Kind != KindMessage {
		return nil, fmt.Errorf("entry %d is a %s entry: fields are proved of messages", e.Seq, e.Kind)
	}
	dd, err := DecodeDetail(KindMessage, e.Detail)
	if err != nil {
		return nil, err
	}
	return dd.(*MessageDetail), nil
}

// ProveFields turns p into a field proof revealing the named fields of
// its entry, a message: clear fields from the leaf, personal fields of a
// v3 message from its opening o (their field salts only; o may be nil
// when no personal field is asked for, or the leaf is v1).
func (p *Proof) ProveFields(o *Opening, names []string) error {
	e, err := DecodeLeaf(p.Leaf)
	if err != nil {
		return fmt.Errorf("leaf: prove fields: %w", err)
	}
	e.Seq = p.Index
	d, err := messageDetail(&e)
	if err != nil {
		return fmt.Errorf("leaf: prove fields: %w", err)
	}
	var fields []ProvedField
	for _, n := range names {
		if slices.ContainsFunc(fields, func(f ProvedField) bool { return f.Name == n }) {
			continue
		}
		v, clear, err := clearValue(&e, d, n)
		if err != nil {
			return fmt.Errorf("leaf: prove fields: %w", err)
		}
		if clear {
			fields = append(fields, ProvedField{Name: n, Value: v})
			continue
		}
		if o == nil {
			return fmt.Errorf("leaf: prove fields: %s is committed and the message's opening is not at hand (erased?)", n)
		}
		if o.MessageID != e.MessageID {
			return fmt.Errorf("leaf: prove fields: the opening is message %q's, not %q's", o.MessageID, e.MessageID)
		}
		fs := FieldSalt(o.Salt[:], n)
		if Commitment(fs, o.Fields[n]).String() != d.Commitment(n) {
			return fmt.Errorf("leaf: prove fields: the opening does not open the commitment to %s", n)
		}
		fields = append(fields, ProvedField{Name: n, Value: jsonscan.AppendStringRFC8785(nil, o.Fields[n]), Salt: &fs})
	}
	slices.SortFunc(fields, func(a, b ProvedField) int { return strings.Compare(a.Name, b.Name) })
	p.Format, p.Fields = FieldProofFormat, fields
	return nil
}

// checkFields checks a field proof's fields against its (verified) entry.
func checkFields(e *Entry, fields []ProvedField) error {
	d, err := messageDetail(e)
	if err != nil {
		return err
	}
	for _, f := range fields {
		v, clear, err := clearValue(e, d, f.Name)
		if err != nil {
			return err
		}
		if clear {
			if f.Salt != nil {
				return fmt.Errorf("field %s is in clear in the leaf: a salt has no place", f.Name)
			}
			canon, err := hashchain.Canonicalize(f.Value)
			if err != nil || !bytes.Equal(canon, v) {
				return fmt.Errorf("field %s: the proof says %s, the leaf has %s", f.Name, f.Value, v)
			}
			continue
		}
		if f.Salt == nil {
			return fmt.Errorf("field %s is committed in the leaf: its salt is missing", f.Name)
		}
		var s string
		if err := json.Unmarshal(f.Value, &s); err != nil {
			return fmt.Errorf("field %s: the value is not a string", f.Name)
		}
		if Commitment(*f.Salt, s).String() != d.Commitment(f.Name) {
			return fmt.Errorf("field %s: the value and salt do not open the leaf's commitment", f.Name)
		}
	}
	return nil
}

// fieldJSON is a proved field's wire form.
type fieldJSON struct {
	Salt  string          `json:"salt,omitempty"`
	Value json.RawMessage `json:"value"`
}

func fieldsJSON(fs []ProvedField) map[string]fieldJSON {
	out := make(map[string]fieldJSON, len(fs))
	for _, f := range fs {
		w := fieldJSON{Value: f.Value}
		if f.Salt != nil {
			w.Salt = hex.EncodeToString(f.Salt[:])
		}
		out[f.Name] = w
	}
	return out
}

// fieldMembers are the members of a proved field: value (required) and
// salt.
var fieldMembers = []string{"value", "salt"}

// parseFields reads the "fields" member of a field proof strictly: each
// a provable name, an object of "value" and, optionally, "salt" (64
// lower-case hex digits), nothing else, every name spelled exactly and
// once (checkFieldMembers) before encoding/json, which would match
// "VALUE" or "ſalt" too, reads them.
func parseFields(raw json.RawMessage) ([]ProvedField, error) {
	if len(raw) == 0 {
		return nil, errors.New("fields is missing")
	}
	if err := jsonscan.Check(raw, 4); err != nil {
		return nil, fmt.Errorf("fields: %w", err)
	}
	if err := checkFieldMembers(raw); err != nil {
		return nil, fmt.Errorf("fields: %w", err)
	}
	if _, err := jsonscan.UniqueKeys(raw, jsonscan.Space(raw, 0), 4); err != nil {
		return nil, fmt.Errorf("fields: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("fields: %w", err)
	}
	if len(m) == 0 {
		return nil, errors.New("fields is empty")
	}
	var out []ProvedField
	for name, v := range m {
		if !slices.Contains(ProvableFields[:], name) {
			return nil, fmt.Errorf("fields: unknown field %q", name)
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		var w struct {
			Salt  *string         `json:"salt"`
			Value json.RawMessage `json:"value"`
		}
		if err := dec.Decode(&w); err != nil || w.Value == nil {
			return nil, fmt.Errorf("fields: %s: want {\"value\": …, \"salt\": …}", name)
		}
		f := ProvedField{Name: name, Value: w.Value}
		if w.Salt != nil {
			h, err := parseLowerHash(*w.Salt)
			if err != nil {
				return nil, fmt.Errorf("fields: %s: salt: %w", name, err)
			}
			s := [32]byte(h)
			f.Salt = &s
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b ProvedField) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// checkFieldMembers checks the names of a field proof's fields (valid
// JSON): an object whose members are provable fields, each an object of
// value and, optionally, salt, all spelled exactly and none twice.
func checkFieldMembers(raw []byte) error {
	i := jsonscan.Space(raw, 0)
	if raw[i] != '{' {
		return errors.New("not an object")
	}
	_, _, err := jsonscan.Members(raw, i, ProvableFields[:], func(k, v int) (int, error) {
		name := ProvableFields[k]
		if raw[v] != '{' {
			return v, fmt.Errorf("%s: want {\"value\": …, \"salt\": …}", name)
		}
		seen, end, err := jsonscan.Members(raw, v, fieldMembers, func(_, v int) (int, error) { return jsonscan.Skip(raw, v, 2) })
		if err != nil {
			return end, fmt.Errorf("%s: %w", name, namesError(err))
		}
		if seen&1 == 0 {
			return end, fmt.Errorf("%s: value is missing", name)
		}
		return end, nil
	})
	return namesError(err)
}
