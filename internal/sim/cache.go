package sim

import "sync"

// convCache keeps recently generated conversations: an export reads each
// one two or three times in a row (conversation, bulk messages, holds).
// It is a small direct-mapped cache: slot = index mod size.
type convCache struct {
	mu    sync.Mutex
	slots []*ConvData
}

const convCacheSize = 512

// cached returns conversation i without its run-time legal hold and audits
// (the API's conversation endpoints do not carry them). The result is
// shared: callers must not modify it.
func (o *Org) cached(i int) *ConvData {
	o.cache.mu.Lock()
	if o.cache.slots == nil {
		o.cache.slots = make([]*ConvData, convCacheSize)
	}
	c := o.cache.slots[i%convCacheSize]
	o.cache.mu.Unlock()
	if c != nil && c.Index == i {
		return c
	}
	c = o.generate(i, true)
	o.cache.mu.Lock()
	o.cache.slots[i%convCacheSize] = c
	o.cache.mu.Unlock()
	return c
}

// setMediaBaseURL sets the prefix of attachment urls and forgets cached
// conversations built with the old one.
func (o *Org) setMediaBaseURL(base string) {
	o.cache.mu.Lock()
	o.cfg.MediaBaseURL = base
	o.cache.slots = nil
	o.cache.mu.Unlock()
}
