package genesys

// HasPaymentCard reports whether s holds what looks like a payment card
// number: 13 to 19 digits, single spaces or hyphens allowed between them,
// passing the Luhn check. Genesys flags recordings with such sensitive
// data and its bulk export leaves them out unless asked
// (includeRecordingsWithSensitiveData); the diff uses this to name that
// as the likely cause of a conversation missing from an export.
func HasPaymentCard(s string) bool {
	var digits [19]byte
	n := 0
	check := func() bool { return n >= 13 && luhn(digits[:n]) }
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(digits) {
				n = 0 // too long for a card: start again after it
				for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == ' ' || s[i] == '-') {
					i++
				}
				continue
			}
			digits[n] = c - '0'
			n++
		case (c == ' ' || c == '-') && n > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
		default:
			if check() {
				return true
			}
			n = 0
		}
	}
	return check()
}

func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i])
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}
