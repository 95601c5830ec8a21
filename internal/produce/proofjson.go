package produce

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/custodyhq/custody/internal/leaf"
)

// appendProof appends json.MarshalIndent(p, "", "  ") and a newline —
// the proof file custody prove writes — without reflection: a production
// writes one per message and encoding/json was a sixth of its CPU time.
// tail is proofTail(p.Checkpoint, p.Timestamps), the same for every
// proof of a production. TestAppendProof holds the two together.
func appendProof(b []byte, p *leaf.Proof, tail []byte) []byte {
	b = append(b, "{\n  \"format\": "...)
	b = strconv.AppendQuote(b, p.Format)
	b = append(b, ",\n  \"index\": "...)
	b = strconv.AppendUint(b, p.Index, 10)
	b = append(b, ",\n  \"tree_size\": "...)
	b = strconv.AppendUint(b, p.TreeSize, 10)
	b = append(b, ",\n  \"leaf\": \""...)
	b = base64.StdEncoding.AppendEncode(b, p.Leaf)
	b = append(b, "\",\n  \"leaf_hash\": \""...)
	b = hex.AppendEncode(b, p.LeafHash[:])
	b = append(b, "\",\n  \"inclusion\": ["...)
	for i, h := range p.Inclusion {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    \""...)
		b = hex.AppendEncode(b, h[:])
		b = append(b, '"')
	}
	if len(p.Inclusion) > 0 {
		b = append(b, "\n  "...)
	}
	b = append(b, "],\n  \"checkpoint\": "...)
	b = append(b, tail...)
	return append(b, "\n}\n"...)
}

// proofTail is the end of a proof file's indented JSON from the
// checkpoint's value on: the note as a JSON string and, when there are
// any, the timestamps member — what every proof against one checkpoint
// shares, encoded once.
func proofTail(note []byte, ts []leaf.ProofTimestamp) ([]byte, error) {
	b, err := jsonString(string(note))
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return b, nil
	}
	b = append(b, ",\n  \"timestamps\": ["...)
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		tsa, err := jsonString(t.TSA)
		if err != nil {
			return nil, err
		}
		b = append(b, "\n    {\n      \"tsa\": "...)
		b = append(b, tsa...)
		b = append(b, ",\n      \"token\": \""...)
		b = base64.StdEncoding.AppendEncode(b, t.Token)
		b = append(b, "\"\n    }"...)
	}
	return append(b, "\n  ]"...), nil
}

// jsonString is s as encoding/json writes a string.
func jsonString(s string) ([]byte, error) { return json.Marshal(s) }
