package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/redact"
)

// MaxBody bounds an add-checkpoint body: 63 proof lines and a checkpoint
// with a few signatures are a few KiB.
const MaxBody = 64 << 10

// Handler serves POST /add-checkpoint (tlog-witness) for w.
func Handler(w *Witness) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			http.Error(rw, "reading the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > MaxBody {
			http.Error(rw, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		req, err := ParseRequest(body)
		if err == nil {
			var sigs []byte
			if sigs, err = w.Add(req); err == nil {
				rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
				rw.Write(sigs)
				return
			}
		}
		var conflict *ConflictError
		switch {
		case errors.As(err, &conflict):
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(http.StatusConflict)
			fmt.Fprintf(rw, "%d\n", conflict.Size)
		case errors.Is(err, ErrUnknownOrigin):
			http.Error(rw, err.Error(), http.StatusNotFound)
		case errors.Is(err, ErrUntrusted):
			http.Error(rw, err.Error(), http.StatusForbidden)
		case errors.Is(err, ErrBadProof):
			http.Error(rw, err.Error(), http.StatusUnprocessableEntity)
		case errors.Is(err, ErrBadRequest):
			http.Error(rw, err.Error(), http.StatusBadRequest)
		default:
			http.Error(rw, "internal error", http.StatusInternalServerError)
		}
	})
	return mux
}

// Client asks a witness for cosignatures.
type Client struct {
	HTTP *http.Client // nil: a client with a 30 s timeout
}

// AddCheckpoint asks the witness at baseURL (its submission prefix) to
// cosign the signed checkpoint note. It first claims old size 0; a
// witness that has seen the log answers 409 with its size, and the
// request is made again with proof(size), the consistency proof from
// that size. It returns the cosignature lines.
func (c *Client) AddCheckpoint(ctx context.Context, baseURL string, checkpoint []byte, proof func(old uint64) ([]hashchain.Hash, error)) ([]byte, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	if c != nil && c.HTTP != nil {
		hc = c.HTTP
	}
	url := strings.TrimSuffix(baseURL, "/") + "/add-checkpoint"
	shown := redact.URL(baseURL) // errors name it without user info, query or fragment
	var old uint64
	var p []hashchain.Hash
	for attempt := 0; ; attempt++ {
		body := Request{OldSize: old, Proof: p, Checkpoint: checkpoint}.Marshal()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", shown, redact.Error(err))
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", shown, redact.Error(err))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", shown, redact.Error(err))
		}
		if len(b) > MaxBody {
			return nil, fmt.Errorf("witness %s: answer over %d bytes", shown, MaxBody)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return b, nil
		case resp.StatusCode == http.StatusConflict && attempt == 0 && resp.Header.Get("Content-Type") == "text/x.tlog.size":
			n, err := strconv.ParseUint(strings.TrimSuffix(string(b), "\n"), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("witness %s: 409 with a size that is not a number", shown)
			}
			if old = n; old != 0 {
				if p, err = proof(old); err != nil {
					return nil, fmt.Errorf("witness %s: it has seen size %d: %w", shown, old, err)
				}
			}
			continue
		default:
			msg := strings.TrimSpace(string(b))
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			return nil, fmt.Errorf("witness %s: refused to cosign: %s: %s", shown, resp.Status, msg)
		}
	}
}
