package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// readHeaderMedia reads, for the captures of sts whose message is still
// to be read (standing.message), the media of the message's WhatsApp
// template header from the evidence holding the message (the response
// body its entry names), and marks it known (diff.Captured.HeaderMedia).
// reduce asks it only for captures that recorded media (detail.media):
// the ledger records which media a message had, not which of them was
// its template's header, and of a message it recorded no media for it
// holds none to compare. Each evidence object is read once for all its
// captures: a local store's in turn on this goroutine, a remote store's
// several at a time (the limit openAll's reads share). Evidence no longer
// stored, or that does not hold the message, leaves its header media
// unknown (verify --evidence reports such evidence); a failed read of the
// store is an error.
func (x *LedgerIndex) readHeaderMedia(ctx context.Context, sts []*standing) error {
	type ref struct {
		st *standing
		i  int
	}
	byEvidence := map[hashchain.Hash][]ref{}
	var sums []hashchain.Hash // in the order first wanted: deterministic reads
	for _, st := range sts {
		for i, sum := range st.message {
			if sum.IsZero() {
				continue
			}
			if byEvidence[sum] == nil {
				sums = append(sums, sum)
			}
			byEvidence[sum] = append(byEvidence[sum], ref{st, i})
			st.message[i] = hashchain.Hash{}
		}
	}
	if len(sums) == 0 {
		return nil
	}
	read := func(sum hashchain.Hash) error {
		refs := byEvidence[sum]
		want := make(map[string]bool, len(refs))
		for _, r := range refs {
			want[r.st.out[r.i].MessageID] = true
		}
		headers, err := x.messageHeaders(ctx, sum, want)
		if err != nil {
			return err
		}
		for _, r := range refs {
			c := &r.st.out[r.i]
			if h, ok := headers[c.MessageID]; ok {
				c.HeaderMedia, c.HeaderMediaKnown = h, true
			}
		}
		return nil
	}
	errs := make([]error, len(sums))
	if evidence.Parallelism(x.Evidence) <= 1 || len(sums) == 1 {
		for j, sum := range sums {
			if errs[j] = read(sum); errs[j] != nil {
				break
			}
		}
	} else {
		sem := x.readSlots()
		var wg sync.WaitGroup
		for j, sum := range sums {
			if sem.Acquire(ctx, 1) != nil {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer sem.Release(1)
				errs[j] = read(sum)
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// messageHeaders reads the evidence sum and returns, for each of the
// messages want names that it holds, the id of its template header media
// (genesys.TemplateHeaderMedia; "" for none). Evidence no longer stored,
// or unreadable as messages, gives none. Only a message whose bytes hold
// a "header" key can have a template header: it alone is decoded whole;
// of the others the id is read (messageID).
func (x *LedgerIndex) messageHeaders(ctx context.Context, sum hashchain.Hash, want map[string]bool) (map[string]string, error) {
	body, err := x.Evidence.Get(ctx, sum)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reconcile: evidence %s of a message's media: %w", sum, err)
	}
	raws, err := derive.MessagesIn(body)
	if err != nil {
		return nil, nil // verify reports unreadable evidence; here it decides nothing
	}
	out := make(map[string]string, len(want))
	for _, raw := range raws {
		id, ok := "", false
		if !bytes.Contains(raw, headerKey) {
			id, ok = messageID(raw)
		}
		header := ""
		if !ok {
			md, _, err := derive.DecodeMessage(raw)
			if err != nil {
				continue
			}
			id = md.ID
			if a := genesys.TemplateHeaderMedia(md); a != nil {
				header = a.ID
			}
		}
		if _, seen := out[id]; want[id] && !seen {
			out[id] = header
		}
	}
	return out, nil
}

// headerKey is in the bytes of every message with a template header.
var headerKey = []byte(`"header"`)

// errIDRead stops messageID's scan.
var errIDRead = errors.New("id read")

// messageID is the top-level "id" of the message object raw, as
// derive.DecodeMessage reads it; false when it cannot tell so cheaply (a
// key that differs from "id" only in case, an escaped id, no id, or
// anything unusual), and raw is then decoded whole.
func messageID(raw []byte) (string, bool) {
	id, ok := "", false
	_, err := jsonscan.Object(raw, jsonscan.Space(raw, 0), func(key []byte, v int) (int, error) {
		if len(key) == 2 && (key[0]|0x20) == 'i' && (key[1]|0x20) == 'd' {
			if string(key) != "id" || ok {
				return v, errIDRead // "ID", or "id" twice: encoding/json's rules decide
			}
			end, escaped, err := jsonscan.String(raw, v)
			if err != nil || escaped {
				return v, errIDRead
			}
			id, ok = string(raw[v+1:end-1]), true
			return end, nil
		}
		return jsonscan.Skip(raw, v, 512)
	})
	if err != nil {
		return "", false
	}
	return id, ok
}
