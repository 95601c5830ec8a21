package produce

import (
	"errors"
	"fmt"
	"time"
)

// checkRSMF holds a manifest produce built to the RSMF 2.0.0 schema's
// rules that its Go types do not already guarantee (required and
// non-empty strings, enums, date-times) and to the specification's
// cross-references (ValidateManifest's), without a JSON round trip.
func checkRSMF(m *RSMF, zipFiles map[string]bool) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	customs := func(where string, cs []RSMFCustom) {
		for _, c := range cs {
			if c.Name == "" || c.Value == "" {
				bad("%s: custom %q=%q: name and value must not be empty", where, c.Name, c.Value)
			}
		}
	}
	stamp := func(where, s string) {
		if s == "" {
			return
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			bad("%s: timestamp %q is not RFC 3339", where, s)
		}
	}
	if len(m.Version) < 5 {
		bad("version %q", m.Version)
	}
	parts := map[string]bool{}
	for i, p := range m.Participants {
		if p.ID == "" || parts[p.ID] {
			bad("participants[%d]: id %q empty or not unique", i, p.ID)
		}
		parts[p.ID] = true
		customs(fmt.Sprintf("participants[%d]", i), p.Custom)
	}
	convs := map[string]bool{}
	for i, c := range m.Conversations {
		if c.ID == "" || convs[c.ID] || c.Platform == "" || (c.Type != "" && c.Type != "direct" && c.Type != "channel") || c.Participants == nil {
			bad("conversations[%d]: id %q, platform %q, type %q", i, c.ID, c.Platform, c.Type)
		}
		convs[c.ID] = true
		members := map[string]bool{}
		for _, p := range c.Participants {
			members[p] = true
			if !parts[p] {
				bad("conversations[%d]: participant %q is not defined", i, p)
			}
		}
		if c.Custodian != "" && !members[c.Custodian] {
			bad("conversations[%d]: custodian %q is not one of its participants", i, c.Custodian)
		}
		customs(fmt.Sprintf("conversations[%d]", i), c.Custom)
	}
	for i, e := range m.Events {
		where := fmt.Sprintf("events[%d]", i)
		switch e.Type {
		case "message", "disclaimer", "join", "leave", "history", "unknown":
		default:
			bad("%s: type %q", where, e.Type)
		}
		if e.Direction != "" && e.Direction != "incoming" && e.Direction != "outgoing" {
			bad("%s: direction %q", where, e.Direction)
		}
		if e.Participant != "" && !parts[e.Participant] {
			bad("%s: participant %q is not defined", where, e.Participant)
		}
		if e.Conversation != "" && !convs[e.Conversation] {
			bad("%s: conversation %q is not defined", where, e.Conversation)
		}
		stamp(where, e.Timestamp)
		for _, a := range e.Attachments {
			if a.ID == "" || !zipFiles[a.ID] {
				bad("%s: attachment %q is not in the zip", where, a.ID)
			}
		}
		for _, r := range e.ReadReceipts {
			if !parts[r.Participant] || (r.Action != "" && r.Action != "read" && r.Action != "delivered") {
				bad("%s: read receipt %+v", where, r)
			}
			stamp(where, r.Timestamp)
		}
		customs(where, e.Custom)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRSMF, errors.Join(errs...))
	}
	return nil
}
