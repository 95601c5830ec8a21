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
	// where is "list[i]", formatted only for a failure (this runs for
	// every event of a production).
	customs := func(list string, i int, cs []RSMFCustom) {
		for _, c := range cs {
			if c.Name == "" || c.Value == "" {
				bad("%s[%d]: custom %q=%q: name and value must not be empty", list, i, c.Name, c.Value)
			}
		}
	}
	stamp := func(list string, i int, s string) {
		if s == "" {
			return
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			bad("%s[%d]: timestamp %q is not RFC 3339", list, i, s)
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
		customs("participants", i, p.Custom)
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
		customs("conversations", i, c.Custom)
	}
	for i := range m.Events {
		e := &m.Events[i]
		switch e.Type {
		case "message", "disclaimer", "join", "leave", "history", "unknown":
		default:
			bad("events[%d]: type %q", i, e.Type)
		}
		if e.Direction != "" && e.Direction != "incoming" && e.Direction != "outgoing" {
			bad("events[%d]: direction %q", i, e.Direction)
		}
		if e.Participant != "" && !parts[e.Participant] {
			bad("events[%d]: participant %q is not defined", i, e.Participant)
		}
		if e.Conversation != "" && !convs[e.Conversation] {
			bad("events[%d]: conversation %q is not defined", i, e.Conversation)
		}
		stamp("events", i, e.Timestamp)
		for _, a := range e.Attachments {
			if a.ID == "" || !zipFiles[a.ID] {
				bad("events[%d]: attachment %q is not in the zip", i, a.ID)
			}
		}
		for _, r := range e.ReadReceipts {
			if !parts[r.Participant] || (r.Action != "" && r.Action != "read" && r.Action != "delivered") {
				bad("events[%d]: read receipt %+v", i, r)
			}
			stamp("events", i, r.Timestamp)
		}
		for _, x := range e.Edits {
			if !parts[x.Participant] {
				bad("events[%d]: edit participant %q is not defined", i, x.Participant)
			}
			stamp("events", i, x.Timestamp)
		}
		customs("events", i, e.Custom)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRSMF, errors.Join(errs...))
	}
	return nil
}
