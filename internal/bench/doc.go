// Package bench measures custody's export against a baseline in the same
// run: the "naive" method of the script custody replaces — one request per
// conversation plus one per message, `if 429: sleep(Retry-After)` up to five
// tries, then give up and lose the item — both against the same simulator
// at the same rate limit. It prints a table with ratios naive/custody.
package bench
