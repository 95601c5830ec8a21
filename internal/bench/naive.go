package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// NaiveResult is what the naive method achieved.
type NaiveResult struct {
	Conversations int           // conversations attempted
	Lost          int           // conversations with at least one item given up on
	Requests      int64         // HTTP requests sent (token requests excluded)
	TooMany       int64         // 429 responses
	Wall          time.Duration // wall time
}

// Naive is the seed script, faithfully: for each conversation, GET it, then
// GET every message one by one; on 429 sleep Retry-After and retry, at most
// five tries, then `return None`: the item is silently lost. It runs
// sequentially, as the script did.
type Naive struct {
	APIURL, LoginURL       string
	ClientID, ClientSecret string
	HTTP                   *http.Client
	// Sleep is how the script sleeps; tests may shorten it.
	Sleep func(ctx context.Context, d time.Duration) error

	token    string
	requests atomic.Int64
	tooMany  atomic.Int64
}

// Run exports the conversations with the naive method.
func (n *Naive) Run(ctx context.Context, convIDs []string) (NaiveResult, error) {
	if n.HTTP == nil {
		n.HTTP = http.DefaultClient
	}
	if n.Sleep == nil {
		n.Sleep = sleepCtx
	}
	start := time.Now()
	if err := n.login(ctx); err != nil {
		return NaiveResult{}, err
	}
	res := NaiveResult{Conversations: len(convIDs)}
	for _, id := range convIDs {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		body, ok := n.get(ctx, "/api/v2/conversations/messages/"+url.PathEscape(id))
		if !ok {
			res.Lost++
			continue
		}
		var mc genesys.MessageConversation
		if json.Unmarshal(body, &mc) != nil {
			res.Lost++ // the script would crash here; count it lost
			continue
		}
		lost := false
		for _, p := range mc.Participants {
			for _, m := range p.Messages {
				if _, ok := n.get(ctx, "/api/v2/conversations/messages/"+url.PathEscape(id)+"/messages/"+url.PathEscape(m.MessageID)); !ok {
					lost = true
				}
			}
		}
		if lost {
			res.Lost++
		}
	}
	res.Requests = n.requests.Load()
	res.TooMany = n.tooMany.Load()
	res.Wall = time.Since(start)
	return res, nil
}

// get is fetch_with_retry from the seed script.
func (n *Naive) get(ctx context.Context, path string) ([]byte, bool) {
	for try := 0; try < 5; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.APIURL+path, nil)
		if err != nil {
			return nil, false
		}
		req.Header.Set("Authorization", "Bearer "+n.token)
		n.requests.Add(1)
		resp, err := n.HTTP.Do(req)
		if err != nil {
			return nil, false // the script did not catch connection errors
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			n.tooMany.Add(1)
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			if n.Sleep(ctx, time.Duration(secs)*time.Second) != nil {
				return nil, false
			}
			continue
		case resp.StatusCode != http.StatusOK || err != nil:
			return nil, false
		}
		return body, true
	}
	return nil, false // "return None"
}

func (n *Naive) login(ctx context.Context) error {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.LoginURL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("naive: login: %w", err)
	}
	req.SetBasicAuth(n.ClientID, n.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := n.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("naive: login: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("naive: login: status %d", resp.StatusCode)
	}
	var tok genesys.TokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return fmt.Errorf("naive: login: %w", err)
	}
	n.token = tok.AccessToken
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
