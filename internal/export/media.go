package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
)

// fetchMedia downloads the message's attachments, checks each against the
// sha256 the API states, and keeps the bytes as evidence.
func (r *runner) fetchMedia(ctx context.Context, m *captured) error {
	n := m.data.NormalizedMessage
	if n == nil {
		return nil
	}
	for _, c := range n.Content {
		a := c.Attachment
		if a == nil || a.URL == "" {
			continue
		}
		resp, err := r.d.Client.Download(ctx, a.URL)
		if err != nil {
			return fmt.Errorf("attachment %s: %w", a.ID, err)
		}
		sum := sha256.Sum256(resp.Body)
		got := hex.EncodeToString(sum[:])
		if a.Sha256 != "" && !strings.EqualFold(a.Sha256, got) {
			return fmt.Errorf("attachment %s: sha256 %s, the API states %s", a.ID, got, a.Sha256)
		}
		ref, err := r.put(ctx, resp.Body)
		if err != nil {
			return err
		}
		m.media = append(m.media, leaf.MediaRef{ID: a.ID, SHA256: got, Evidence: ref.Sum.String()})
	}
	return nil
}
