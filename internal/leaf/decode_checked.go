package leaf

// DecodeCheckedDetail is DecodeChecked that also returns the entry's
// detail decoded, as DecodeDetail(e.Kind, e.Detail) decodes it (nil when
// the entry has none or DecodeDetail fails). A v3 message's strict check
// decodes its detail (the commitments' rule); on the fast path that
// detail is the one returned, so a verifier reading every leaf's
// evidence references parses the detail once, not twice. Like the
// entry's strings, the detail's may be views of leaf: valid while leaf is
// unchanged. FuzzDecodeCheckedDetail holds it to DecodeChecked and
// DecodeDetail.
func DecodeCheckedDetail(leaf []byte) (e Entry, d Detail, strict bool, err error) {
	r := leafReader{b: leaf, strict: true}
	if e, ok := r.read(); ok {
		var md *MessageDetail
		if e.validateKeep(false, &md, &r.det) == nil {
			if md != nil {
				return e, md, true, nil
			}
			return e, detailOf(&e), true, nil
		}
	}
	if e, strict, err = DecodeChecked(leaf); err != nil {
		return Entry{}, nil, false, err
	}
	return e, detailOf(&e), strict, nil
}

// detailOf is DecodeDetail of e's detail, nil when it has none or it does
// not decode.
func detailOf(e *Entry) Detail {
	if len(e.Detail) == 0 {
		return nil
	}
	d, err := DecodeDetail(e.Kind, e.Detail)
	if err != nil {
		return nil
	}
	return d
}
