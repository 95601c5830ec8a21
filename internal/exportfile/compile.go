package exportfile

import (
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/finding"
)

// shapeFields is a shape and its ShapePolicy, compiled for lookups.
type shapeFields struct {
	shape  Shape
	policy ShapePolicy
	name   string
	msgID  [][]string
	conv   [][]string
	fields [NumFields][][]string
	msgKey string
	msg    *msgType
	// meta decodes the shape's metadata files (when it has any): only
	// their conversation id is read.
	meta *msgType
}

// compiled is every shape's policy, compiled.
type compiled struct {
	shapes []*shapeFields // in the order of shapes
	// docConvKeys are the top-level keys that may hold a document's
	// conversation id, for any document shape.
	docConvKeys []string
}

// compile compiles a policy's shapes, which must have passed ValidateShapes.
func compile(m map[string]ShapePolicy) *compiled {
	cp := &compiled{}
	split := func(paths []string) [][]string {
		out := make([][]string, 0, len(paths))
		for _, s := range paths {
			out = append(out, strings.Split(s, "."))
		}
		return out
	}
	for _, s := range shapes {
		sp := m[s.Name()]
		sf := &shapeFields{shape: s, policy: sp, name: s.Name(), msgID: split(sp.Fields[finding.FieldMessageID]),
			conv: split(sp.ConversationID), msgKey: sp.Messages}
		for i, f := range finding.ComplianceFields {
			sf.fields[i] = split(sp.Fields[f])
		}
		lists := append([][][]string{sf.msgID}, sf.fields[:]...)
		if s.Lines() {
			lists = append(lists, sf.conv)
		} else {
			for _, k := range sp.ConversationID {
				if !slices.Contains(cp.docConvKeys, k) {
					cp.docConvKeys = append(cp.docConvKeys, k)
				}
			}
			if sp.MetadataSuffix != "" {
				sf.meta = newMsgType(sf.conv)
			}
		}
		sf.msg = newMsgType(lists...)
		cp.shapes = append(cp.shapes, sf)
	}
	return cp
}
