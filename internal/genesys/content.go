package genesys

// The structured content of a normalized message beyond text and
// attachments: what WhatsApp conversations carry through Genesys Cloud
// (templates, quick replies, reply buttons and lists, locations,
// reactions) and message events. Field names are those of the SDK models
// named on each type; enum values are listed where the SDK has an enum.

// ContentQuickReply is model Conversationcontentquickreply (contentType
// QuickReply): one offered reply; action is always "Message".
type ContentQuickReply struct {
	Text    string `json:"text"`
	Payload string `json:"payload"`
	Image   string `json:"image,omitempty"`
	Action  string `json:"action,omitempty"`
}

// ContentButtonResponse is model Conversationcontentbuttonresponse
// (contentType ButtonResponse): the customer's choice of a quick reply,
// template button or list item. Type: Button, QuickReply, DatePicker,
// ListPicker, Form.
type ContentButtonResponse struct {
	OriginatingMessageID string `json:"originatingMessageId,omitempty"`
	Type                 string `json:"type,omitempty"`
	Text                 string `json:"text"`
	Payload              string `json:"payload"`
}

// ContentListPicker is model Conversationcontentlistpicker (contentType
// ListPicker): a WhatsApp list message.
type ContentListPicker struct {
	ID              string                `json:"id,omitempty"`
	Sections        []ListPickerSection   `json:"sections,omitempty"`
	ReplyMessage    *ReceivedReplyMessage `json:"replyMessage,omitempty"`
	ReceivedMessage *ReceivedReplyMessage `json:"receivedMessage,omitempty"`
}

// ListPickerSection is model Conversationcontentlistpickersection.
type ListPickerSection struct {
	Title             string           `json:"title,omitempty"`
	MultipleSelection bool             `json:"multipleSelection,omitempty"`
	Items             []ListPickerItem `json:"items,omitempty"`
}

// ListPickerItem is model Conversationcontentlistpickeritem.
type ListPickerItem struct {
	ID       string `json:"id,omitempty"`
	Title    string `json:"title,omitempty"`
	Subtitle string `json:"subtitle,omitempty"`
	ImageURL string `json:"imageUrl,omitempty"`
}

// ReceivedReplyMessage is model Conversationcontentreceivedreplymessage.
type ReceivedReplyMessage struct {
	Title       string `json:"title,omitempty"`
	Subtitle    string `json:"subtitle,omitempty"`
	ImageURL    string `json:"imageUrl,omitempty"`
	Header      string `json:"header,omitempty"`
	ButtonLabel string `json:"buttonLabel,omitempty"`
}

// ContentLocation is model Conversationcontentlocation (contentType Location).
type ContentLocation struct {
	URL       string  `json:"url,omitempty"`
	Address   string  `json:"address,omitempty"`
	Text      string  `json:"text,omitempty"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// ContentReaction is model Conversationcontentreaction (contentType
// Reactions). ReactionType: None, Like, Love, Wow, Haha, Sad, Angry,
// Thankful, Pride, Care, Share, Comment, View, Rating.
type ContentReaction struct {
	ReactionType string `json:"reactionType"`
	Count        int    `json:"count"`
}

// NotificationTemplate is model Conversationcontentnotificationtemplate
// (contentType Notification): a WhatsApp message template.
type NotificationTemplate struct {
	ID       string           `json:"id,omitempty"`
	Language string           `json:"language,omitempty"`
	Header   *TemplateHeader  `json:"header,omitempty"`
	Body     *TemplateBody    `json:"body,omitempty"`
	Buttons  []TemplateButton `json:"buttons,omitempty"`
	Footer   *TemplateFooter  `json:"footer,omitempty"`
}

// TemplateHeader is model Conversationnotificationtemplateheader (type Text or Media).
type TemplateHeader struct {
	Type       string              `json:"type,omitempty"`
	Text       string              `json:"text,omitempty"`
	Media      *ContentAttachment  `json:"media,omitempty"`
	Parameters []TemplateParameter `json:"parameters,omitempty"`
}

// TemplateBody is model Conversationnotificationtemplatebody.
type TemplateBody struct {
	Text       string              `json:"text,omitempty"`
	Parameters []TemplateParameter `json:"parameters,omitempty"`
}

// TemplateFooter is model Conversationnotificationtemplatefooter.
type TemplateFooter struct {
	Text string `json:"text,omitempty"`
}

// TemplateButton is model Conversationnotificationtemplatebutton (type
// QuickReply, PhoneNumber or Url).
type TemplateButton struct {
	Type        string              `json:"type,omitempty"`
	Text        string              `json:"text,omitempty"`
	Index       int                 `json:"index"`
	PhoneNumber string              `json:"phoneNumber,omitempty"`
	URL         string              `json:"url,omitempty"`
	Payload     string              `json:"payload,omitempty"`
	Parameters  []TemplateParameter `json:"parameters,omitempty"`
}

// TemplateParameter is model Conversationnotificationtemplateparameter.
type TemplateParameter struct {
	Name string `json:"name,omitempty"`
	Text string `json:"text"`
}

// MessageEvent is model Conversationmessageevent: eventType CoBrowse,
// Typing, Presence, Video or Unknown, with the member of that name.
type MessageEvent struct {
	EventType string         `json:"eventType"`
	Typing    *TypingEvent   `json:"typing,omitempty"`
	Presence  *PresenceEvent `json:"presence,omitempty"`
}

// TypingEvent is model Conversationeventtyping (type On; duration in ms).
type TypingEvent struct {
	Type     string `json:"type"`
	Duration int    `json:"duration,omitempty"`
}

// PresenceEvent is model Conversationeventpresence (type Join, Disconnect,
// Clear, SignIn, SessionExpired, Authenticate, …).
type PresenceEvent struct {
	Type string `json:"type"`
}
