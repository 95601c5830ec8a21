package produce

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/production"
)

// TestMarshalManifestSame holds marshalManifest to
// production.Manifest.Marshal byte for byte, with ids that need escaping
// (quotes, HTML characters, control characters, non-ASCII, invalid
// UTF-8), with and without DAT control numbers and erased messages.
func TestMarshalManifestSame(t *testing.T) {
	ids := []string{"c1", `a"b\c`, "<script>&", "tab\there", "Grüße", "bad\xffutf8", "line\u2028sep", "\x7f", ""}
	for _, erased := range []bool{false, true} {
		m := production.Manifest{Format: production.Format, Matter: "matter <1>", Origin: "o", Formats: []string{"rsmf", "dat"},
			Selection:   production.Selection{Conversations: []string{"c1"}, Interval: "a/b", LegalHoldOnly: true},
			Checkpoint:  production.Checkpoint{File: production.CheckpointFile, Size: 9, Root: "ab"},
			VerifierKey: production.VerifierKeyFile,
			Conversations: []production.Conversation{{ID: "c1", Seq: 1, LeafHash: "x", Proof: production.ProofPath(1), LegalHold: true,
				RunID: "r&1", Messages: 2, RSMF: []string{"rsmf/c1.rsmf"}}},
		}
		if erased {
			m.Erased = []production.Erased{{ConversationID: "c<2>", MessageID: "m", Seq: 7, LeafHash: "y", Status: production.StatusErased, ErasureSeq: 8}}
		}
		var msgs []msgRec
		var files []fileRec
		for i, id := range ids {
			lh := hashchain.Hash(sha256.Sum256([]byte(id)))
			ctrl := ""
			if i%2 == 1 {
				ctrl = "CUST" + id
			}
			latest := uint64(0)
			if i%3 == 2 {
				latest = uint64(i*1001 + 5) // an earlier capture
			}
			msgs = append(msgs, msgRec{seq: uint64(i * 1001), leafHash: lh, convID: ids[(i+3)%len(ids)], msgID: id, ctrl: ctrl, latest: latest})
			files = append(files, fileRec{path: "rsmf/" + id, sum: sha256.Sum256([]byte(id + "f")), size: int64(i * 977)})
			m.Messages = append(m.Messages, production.Message{Seq: uint64(i * 1001), LeafHash: lh.String(), ConversationID: ids[(i+3)%len(ids)],
				MessageID: id, Proof: production.ProofPath(uint64(i * 1001)), ControlNumber: ctrl, EarlierCaptureOf: latest})
			sum := sha256.Sum256([]byte(id + "f"))
			m.Files = append(m.Files, production.File{Path: "rsmf/" + id, SHA256: hex.EncodeToString(sum[:]), Size: int64(i * 977)})
		}
		want, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalManifest(&m, msgs, files)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("erased %t:\ngot  %s\nwant %s", erased, got, want)
		}
		empty := production.Manifest{Format: production.Format, Checkpoint: production.Checkpoint{File: production.CheckpointFile}, VerifierKey: production.VerifierKeyFile}
		want, _ = empty.Marshal()
		if got, _ = marshalManifest(&empty, nil, nil); !bytes.Equal(got, want) {
			t.Fatalf("empty:\ngot  %s\nwant %s", got, want)
		}
	}
}
