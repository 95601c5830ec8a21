package exportfile

// ConversationHint is the conversation a file's name says it holds — the
// Genesys layout's "conversation_id=X" folder — or "". It is only a hint
// (the diff loads that conversation's captures ahead, several files'
// at once): what a file holds is what reading it gives.
func ConversationHint(e Entry) string { return convFromPath(e.RawName()) }
