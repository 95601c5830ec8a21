package erase

import "testing"

// TestPersonalValuesIn: which reasons hold a personal value, as the
// rules of personalValues.in say (commit review 1, L3). A number is
// matched only from the start of one digit group to the end of another
// and when it has 7 digits or more, so a short code inside a reference
// or a phone number inside a longer run of digits is not; a phone
// number in any grouping, with its country code or its trunk 0, is. A
// one-word name is matched as written, and not when it is a common
// word; a full name in any case. A text is matched as whole words, and
// not when it is too short or made only of common words. Before, the
// short code and the generic text were refused as substrings, and
// "Will" in any case.
func TestPersonalValuesIn(t *testing.T) {
	p := &personalValues{
		addresses: map[string]bool{"72727": true, "+447700900123": true, "someone@example.org": true},
		names:     map[string]bool{"Will": true, "Ana": true, "Customer": true, "Leilani": true, "Zoë Nakamura": true, "Li Na": true, "Customer Service": true},
		texts:     map[string]bool{"delete my data": true, "Is anyone there?": true, "ok": true, "My parcel 8812 never came": true},
	}
	for _, c := range []struct {
		reason, want string
	}{
		{"ref 1727270", ""},
		{"SMS 72727 keyword STOP", ""}, // a short code is no one's number
		{"ticket 9447700900123", ""},
		{"ticket 4477009001235", ""},
		{"DSR-1042 received 2024-05-01", ""},
		{"caller +447700900123", kindAddress},
		{"caller +44 7700 900123", kindAddress},
		{"caller (+44) 7700-900-123.", kindAddress},
		{"caller 07700 900123", kindAddress},
		{"caller 0044 7700 900 123", kindAddress},
		{"mail from Someone@Example.org", kindAddress},
		{"erasure will proceed", ""},
		{"Will proceed per counsel", ""},
		{"Customer asked by phone", ""},
		{"DSR for Leilani", kindName},
		{"DSR for leilani", ""},
		{"DSR for Leilani's account", kindName},
		{"DSR for Ana", ""}, // too short to tell from a word
		{"DSR for ZOË NAKAMURA", kindName},
		{"DSR for zoë  nakamura", kindName},
		{"DSR for Zoë", ""},
		{"DSR for li na", kindName},
		{"Customer service asked", ""},
		{"customer asked us to delete my data", ""},
		{"is anyone there? asked twice", ""},
		{"ok to go", ""},
		{"quote: my parcel 8812 never came, per ticket", kindText},
		{"quote: my parcel 88123 never came", ""},
	} {
		if got := p.in(c.reason); got != c.want {
			t.Errorf("%q: %q, want %q", c.reason, got, c.want)
		}
	}
}
