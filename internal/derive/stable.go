package derive

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// StableHash is the SHA-256 of the RFC 8785 form of a message object with
// the url of every attachment left out
// (normalizedMessage.content[].attachment.url, a template's header media
// normalizedMessage.content[].template.header.media.url, and a legacy
// media[].url): a url that is a non-empty string is replaced by the same
// placeholder, so that only whether it has one still counts. The
// attachment is still compared by everything else it carries (id,
// sha256, mediaType, filename, contentSizeBytes, ...).
//
// Genesys hands out attachment urls pre-signed for a storage host; a
// pre-signature carries its signing time and expiry, and the storage host
// is not documented as stable (a url may name another host, port or path
// for the same bytes), so the same message read twice can differ in its
// urls alone. Export compares StableHash when a message's payload hash
// changed, so that a new url is not taken for a changed message (a
// needless superseding capture, and its media fetched again). The payload
// hash itself stays the hash of the object as served: it is what the
// evidence holds. StableHash is no part of the ledger: both sides are
// computed from the evidence at run time, never stored.
func StableHash(raw []byte) (hashchain.Hash, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return hashchain.Hash{}, fmt.Errorf("derive: stable hash: %w", err)
	}
	if nm, ok := v["normalizedMessage"].(map[string]any); ok {
		if content, ok := nm["content"].([]any); ok {
			for _, c := range content {
				if c, ok := c.(map[string]any); ok {
					if a, ok := c["attachment"].(map[string]any); ok {
						dropURL(a, "url")
					}
					if t, ok := c["template"].(map[string]any); ok {
						if h, ok := t["header"].(map[string]any); ok {
							if m, ok := h["media"].(map[string]any); ok {
								dropURL(m, "url")
							}
						}
					}
				}
			}
		}
	}
	if media, ok := v["media"].([]any); ok {
		for _, m := range media {
			if m, ok := m.(map[string]any); ok {
				dropURL(m, "url")
			}
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return hashchain.Hash{}, fmt.Errorf("derive: stable hash: %w", err)
	}
	c, err := leaf.CanonicalDetail(b)
	if err != nil {
		return hashchain.Hash{}, fmt.Errorf("derive: stable hash: %w", err)
	}
	return sha256.Sum256(c), nil
}

// urlPlaceholder stands for an attachment's url in StableHash.
const urlPlaceholder = "(url)"

// dropURL replaces the url in obj[key], when it is a non-empty string, by
// urlPlaceholder; anything else is left as it is (and so compared as it
// is).
func dropURL(obj map[string]any, key string) {
	if s, ok := obj[key].(string); ok && s != "" {
		obj[key] = urlPlaceholder
	}
}
