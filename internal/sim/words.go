package sim

import (
	"fmt"
	"math/rand/v2"
)

// Word lists for generated names and message text. Some entries are
// non-ASCII on purpose: canonical JSON and hashing must cope with them.
var (
	firstNames = []string{"Amelia", "Oliver", "Sofía", "Mateo", "Chloé", "Lukas", "Aisha", "Kenji", "Zoë", "Noah",
		"Ingrid", "Rafael", "Mei", "Olusegun", "Freya", "Dmitri", "Leilani", "Björn", "Ana", "Yusuf"}
	lastNames = []string{"Smith", "García", "Müller", "Okafor", "Nakamura", "O'Brien", "Kowalski", "Dubois", "Rossi",
		"Haddad", "Jensen", "Ferreira", "Nguyen", "Patel", "Larsen", "Novák", "Brown", "Silva", "Cohen", "Ivanova"}
	queueNames = []string{"Customer Care", "Billing", "Claims", "Retention"}

	inboundTexts = []string{
		"Hi, I need help with my order %d",
		"Hello! My card was charged twice for invoice %d",
		"Can you confirm the delivery date for order %d?",
		"I want to cancel my subscription",
		"The parcel arrived damaged 😞",
		"Thanks, that works for me 👍",
		"Is anyone there?",
		"My account number is %d",
		"Can I speak to a human please",
		"Here is the photo you asked for",
		"Grüße aus Köln – die Rechnung %d stimmt nicht",
		"¿Pueden ayudarme con el pedido %d?",
		"ok",
		"Yes",
		"No, that's not right. I was promised a refund on the 3rd",
		"请帮我查一下订单 %d",
	}
	botTexts = []string{
		"Welcome to Custody Demo! I'm the virtual assistant. What can I help you with today?",
		"Please type your order number.",
		"Thanks. I'm connecting you to an agent now — typical wait is under 2 minutes.",
		"I didn't catch that. You can say 'order', 'billing' or 'agent'.",
	}
	agentTexts = []string{
		"Hi, this is %s. I'm looking into it now.",
		"Thanks for waiting. I can see order %d in our system.",
		"I've issued a refund of €%d.%02d; it will show in 3–5 working days.",
		"Could you send a photo of the damage, please?",
		"Is there anything else I can help with?",
		"I've escalated this to our claims team under reference %d.",
		"Our records show the payment on %d was captured once.",
		"You're welcome! Have a great day 😊",
	}
	captions = []string{"", "", "photo of the label", "invoice.pdf as requested", "voice note"}
)

// phoneNumber is a plausible E.164 mobile number in a fictional or
// test range where the country has one.
func phoneNumber(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return fmt.Sprintf("+447700%06d", 900000+r.IntN(1000)) // Ofcom drama range
	case 1:
		return fmt.Sprintf("+1%03d555%04d", 201+r.IntN(700), r.IntN(10000))
	case 2:
		return fmt.Sprintf("+4915%d%08d", 1+r.IntN(9), r.IntN(100000000))
	case 3:
		return fmt.Sprintf("+316%08d", r.IntN(100000000))
	default:
		return fmt.Sprintf("+614%08d", r.IntN(100000000))
	}
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }
