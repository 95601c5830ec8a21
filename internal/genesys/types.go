package genesys

import "time"

// TimeLayout is how Genesys spells timestamps: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// ---- OAuth ----

// TokenResponse is the body of a successful POST /oauth/token.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// TokenError is the body of a failed POST /oauth/token.
type TokenError struct {
	Error            string `json:"error"`
	Description      string `json:"description,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// ---- Errors ----

// ErrorBody is the normalized Genesys error body (model Errorbody).
type ErrorBody struct {
	Status            int               `json:"status"`
	Message           string            `json:"message,omitempty"`
	MessageWithParams string            `json:"messageWithParams,omitempty"`
	MessageParams     map[string]string `json:"messageParams,omitempty"`
	Code              string            `json:"code,omitempty"`
	EntityID          string            `json:"entityId,omitempty"`
	EntityName        string            `json:"entityName,omitempty"`
	ContextID         string            `json:"contextId,omitempty"`
	Details           []Detail          `json:"details"`
	Errors            []ErrorBody       `json:"errors"`
}

// Detail is an item of ErrorBody.Details.
type Detail struct {
	ErrorCode  string `json:"errorCode,omitempty"`
	FieldName  string `json:"fieldName,omitempty"`
	EntityID   string `json:"entityId,omitempty"`
	EntityName string `json:"entityName,omitempty"`
}

// Response headers. ININ-Correlation-Id is on every response and
// Retry-After on every 429; Genesys removed the inin-ratelimit-* headers
// in 2021 (the simulator sends them only when asked to, for old clients).
const (
	HeaderRateLimitCount   = "inin-ratelimit-count"
	HeaderRateLimitAllowed = "inin-ratelimit-allowed"
	HeaderRateLimitReset   = "inin-ratelimit-reset"
	HeaderCorrelationID    = "ININ-Correlation-Id"
	HeaderRetryAfter       = "Retry-After"
)

// Error codes in ErrorBody.Code that custody relies on.
const (
	CodeTooManyRequests = "too.many.requests.retry.after"
	CodeNotFound        = "not.found"
	CodeBadRequest      = "bad.request"
	CodeBadCredentials  = "bad.credentials"
)

// ---- References ----

// EntityRef is model Addressableentityref.
type EntityRef struct {
	ID      string `json:"id,omitempty"`
	SelfURI string `json:"selfUri,omitempty"`
}

// DomainEntityRef is model Domainentityref.
type DomainEntityRef struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	SelfURI string `json:"selfUri,omitempty"`
}

// ---- Analytics: listing conversations ----

// Predicate is model Segmentdetailquerypredicate / Conversationdetailquerypredicate.
type Predicate struct {
	Type      string `json:"type,omitempty"`
	Dimension string `json:"dimension,omitempty"`
	Metric    string `json:"metric,omitempty"`
	Operator  string `json:"operator,omitempty"`
	Value     string `json:"value,omitempty"`
}

// Clause is model Segmentdetailqueryclause.
type Clause struct {
	Type       string      `json:"type"`
	Predicates []Predicate `json:"predicates"`
}

// Filter is model Segmentdetailqueryfilter / Conversationdetailqueryfilter.
type Filter struct {
	Type       string      `json:"type"`
	Clauses    []Clause    `json:"clauses,omitempty"`
	Predicates []Predicate `json:"predicates,omitempty"`
}

// AsyncConversationQuery is the body of POST
// /api/v2/analytics/conversations/details/jobs (model Asyncconversationquery).
type AsyncConversationQuery struct {
	Interval                   string   `json:"interval"`
	Order                      string   `json:"order,omitempty"`
	OrderBy                    string   `json:"orderBy,omitempty"`
	Limit                      int      `json:"limit,omitempty"`
	SegmentFilters             []Filter `json:"segmentFilters,omitempty"`
	ConversationFilters        []Filter `json:"conversationFilters,omitempty"`
	StartOfDayIntervalMatching bool     `json:"startOfDayIntervalMatching,omitempty"`
}

// PagingSpec is model Pagingspec.
type PagingSpec struct {
	PageSize   int `json:"pageSize"`
	PageNumber int `json:"pageNumber"`
}

// ConversationQuery is the body of POST
// /api/v2/analytics/conversations/details/query (model Conversationquery).
type ConversationQuery struct {
	Interval            string      `json:"interval"`
	Order               string      `json:"order,omitempty"`
	OrderBy             string      `json:"orderBy,omitempty"`
	Paging              *PagingSpec `json:"paging,omitempty"`
	SegmentFilters      []Filter    `json:"segmentFilters,omitempty"`
	ConversationFilters []Filter    `json:"conversationFilters,omitempty"`
}

// AsyncQueryResponse is model Asyncqueryresponse.
type AsyncQueryResponse struct {
	JobID string `json:"jobId"`
}

// Analytics job states (model Asyncquerystatus.state).
const (
	JobQueued    = "QUEUED"
	JobPending   = "PENDING"
	JobFailed    = "FAILED"
	JobCancelled = "CANCELLED"
	JobFulfilled = "FULFILLED"
	JobExpired   = "EXPIRED"
)

// AsyncQueryStatus is model Asyncquerystatus.
type AsyncQueryStatus struct {
	State          string `json:"state"`
	ErrorMessage   string `json:"errorMessage,omitempty"`
	ExpirationDate string `json:"expirationDate,omitempty"`
	SubmissionDate string `json:"submissionDate,omitempty"`
	CompletionDate string `json:"completionDate,omitempty"`
}

// AnalyticsConversationAsyncQueryResponse is a page of job results.
type AnalyticsConversationAsyncQueryResponse struct {
	Conversations        []AnalyticsConversation `json:"conversations"`
	Cursor               string                  `json:"cursor,omitempty"`
	DataAvailabilityDate string                  `json:"dataAvailabilityDate,omitempty"`
}

// AnalyticsConversationQueryResponse is a page of the synchronous query.
type AnalyticsConversationQueryResponse struct {
	Conversations []AnalyticsConversation `json:"conversations,omitempty"`
	TotalHits     int                     `json:"totalHits"`
}

// AnalyticsConversation is model Analyticsconversation (subset).
type AnalyticsConversation struct {
	ConversationID       string                 `json:"conversationId"`
	ConversationStart    string                 `json:"conversationStart"`
	ConversationEnd      string                 `json:"conversationEnd,omitempty"`
	OriginatingDirection string                 `json:"originatingDirection,omitempty"`
	DivisionIDs          []string               `json:"divisionIds,omitempty"`
	ExternalTag          string                 `json:"externalTag,omitempty"`
	Participants         []AnalyticsParticipant `json:"participants,omitempty"`
}

// AnalyticsParticipant is model Analyticsparticipant (subset).
type AnalyticsParticipant struct {
	ParticipantID   string             `json:"participantId"`
	ParticipantName string             `json:"participantName,omitempty"`
	Purpose         string             `json:"purpose,omitempty"`
	UserID          string             `json:"userId,omitempty"`
	Sessions        []AnalyticsSession `json:"sessions,omitempty"`
}

// AnalyticsSession is model Analyticssession (subset).
type AnalyticsSession struct {
	SessionID   string             `json:"sessionId"`
	MediaType   string             `json:"mediaType,omitempty"`
	MessageType string             `json:"messageType,omitempty"`
	AddressFrom string             `json:"addressFrom,omitempty"`
	AddressTo   string             `json:"addressTo,omitempty"`
	Direction   string             `json:"direction,omitempty"`
	Recording   bool               `json:"recording,omitempty"`
	PeerID      string             `json:"peerId,omitempty"`
	Segments    []AnalyticsSegment `json:"segments,omitempty"`
	Metrics     []AnalyticsMetric  `json:"metrics,omitempty"`
}

// AnalyticsSegment is model Analyticsconversationsegment (subset).
type AnalyticsSegment struct {
	SegmentStart string `json:"segmentStart"`
	SegmentEnd   string `json:"segmentEnd,omitempty"`
	SegmentType  string `json:"segmentType,omitempty"`
	QueueID      string `json:"queueId,omitempty"`
}

// AnalyticsMetric is model Analyticssessionmetric.
type AnalyticsMetric struct {
	Name     string `json:"name"`
	Value    int    `json:"value"`
	EmitDate string `json:"emitDate,omitempty"`
}

// ---- Message conversations ----

// Address is model Address.
type Address struct {
	Name               string `json:"name,omitempty"`
	NameRaw            string `json:"nameRaw,omitempty"`
	AddressNormalized  string `json:"addressNormalized,omitempty"`
	AddressRaw         string `json:"addressRaw,omitempty"`
	AddressDisplayable string `json:"addressDisplayable,omitempty"`
}

// MessageConversation is model Messageconversation, the body of
// GET /api/v2/conversations/messages/{conversationId}.
type MessageConversation struct {
	ID             string                    `json:"id"`
	Name           string                    `json:"name,omitempty"`
	Participants   []MessageMediaParticipant `json:"participants"`
	OtherMediaURIs []string                  `json:"otherMediaUris,omitempty"`
	SelfURI        string                    `json:"selfUri,omitempty"`
}

// MessageMediaParticipant is model Messagemediaparticipant (subset).
type MessageMediaParticipant struct {
	ID               string            `json:"id"`
	Name             string            `json:"name,omitempty"`
	Address          string            `json:"address,omitempty"`
	StartTime        string            `json:"startTime,omitempty"`
	ConnectedTime    string            `json:"connectedTime,omitempty"`
	EndTime          string            `json:"endTime,omitempty"`
	Purpose          string            `json:"purpose,omitempty"`
	State            string            `json:"state,omitempty"`
	Direction        string            `json:"direction,omitempty"`
	DisconnectType   string            `json:"disconnectType,omitempty"`
	Held             bool              `json:"held,omitempty"`
	User             *DomainEntityRef  `json:"user,omitempty"`
	Queue            *DomainEntityRef  `json:"queue,omitempty"`
	Attributes       map[string]string `json:"attributes,omitempty"`
	Provider         string            `json:"provider,omitempty"`
	ExternalContact  *DomainEntityRef  `json:"externalContact,omitempty"`
	Peer             string            `json:"peer,omitempty"`
	ToAddress        *Address          `json:"toAddress,omitempty"`
	FromAddress      *Address          `json:"fromAddress,omitempty"`
	Messages         []MessageDetails  `json:"messages,omitempty"`
	Type             string            `json:"type,omitempty"`
	RecipientCountry string            `json:"recipientCountry,omitempty"`
	RecipientType    string            `json:"recipientType,omitempty"`
	Authenticated    bool              `json:"authenticated,omitempty"`
}

// MessageDetails is model Messagedetails (subset).
type MessageDetails struct {
	MessageID           string `json:"messageId"`
	MessageURI          string `json:"messageURI,omitempty"`
	MessageStatus       string `json:"messageStatus,omitempty"`
	MessageSegmentCount int    `json:"messageSegmentCount,omitempty"`
	MessageTime         string `json:"messageTime,omitempty"`
	SocialVisibility    string `json:"socialVisibility,omitempty"`
}

// TextMessageListing is model Textmessagelisting, the body of
// POST .../messages/bulk.
type TextMessageListing struct {
	Entities []MessageData `json:"entities"`
}

// MessageData is model Messagedata.
type MessageData struct {
	ID                 string              `json:"id"`
	Name               string              `json:"name,omitempty"`
	ProviderMessageID  string              `json:"providerMessageId,omitempty"`
	Timestamp          string              `json:"timestamp"`
	FromAddress        string              `json:"fromAddress,omitempty"`
	ToAddress          string              `json:"toAddress,omitempty"`
	Direction          string              `json:"direction,omitempty"`
	MessengerType      string              `json:"messengerType,omitempty"`
	TextBody           string              `json:"textBody,omitempty"`
	Status             string              `json:"status,omitempty"`
	Media              []MessageMedia      `json:"media,omitempty"`
	NormalizedMessage  *NormalizedMessage  `json:"normalizedMessage,omitempty"`
	NormalizedReceipts []NormalizedMessage `json:"normalizedReceipts,omitempty"`
	CreatedBy          *UserRef            `json:"createdBy,omitempty"`
	ConversationID     string              `json:"conversationId,omitempty"`
	SelfURI            string              `json:"selfUri,omitempty"`
}

// UserRef is the subset of model User that Messagedata.createdBy carries.
type UserRef struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	SelfURI string `json:"selfUri,omitempty"`
}

// MessageMedia is model Messagemedia (deprecated; dropped by useNormalizedMessage).
type MessageMedia struct {
	ID                 string `json:"id,omitempty"`
	Name               string `json:"name,omitempty"`
	URL                string `json:"url,omitempty"`
	MediaType          string `json:"mediaType,omitempty"`
	ContentLengthBytes int    `json:"contentLengthBytes,omitempty"`
}

// NormalizedMessage is model Conversationnormalizedmessage (subset).
type NormalizedMessage struct {
	ID                string            `json:"id,omitempty"`
	Channel           *MessagingChannel `json:"channel,omitempty"`
	Type              string            `json:"type,omitempty"`
	Text              string            `json:"text,omitempty"`
	Content           []MessageContent  `json:"content,omitempty"`
	Events            []MessageEvent    `json:"events,omitempty"`
	Status            string            `json:"status,omitempty"`
	Reasons           []Reason          `json:"reasons,omitempty"`
	OriginatingEntity string            `json:"originatingEntity,omitempty"`
	IsFinalReceipt    bool              `json:"isFinalReceipt,omitempty"`
	Direction         string            `json:"direction,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
}

// MessagingChannel is model Conversationmessagingchannel (subset).
type MessagingChannel struct {
	ID           string     `json:"id,omitempty"`
	Platform     string     `json:"platform,omitempty"`
	Type         string     `json:"type,omitempty"`
	MessageID    string     `json:"messageId,omitempty"`
	To           *Recipient `json:"to,omitempty"`
	From         *Recipient `json:"from,omitempty"`
	Time         string     `json:"time,omitempty"`
	DateModified string     `json:"dateModified,omitempty"`
	DateDeleted  string     `json:"dateDeleted,omitempty"`
}

// Recipient is model Conversationmessagingfromrecipient / ...torecipient (subset).
type Recipient struct {
	ID        string `json:"id,omitempty"`
	IDType    string `json:"idType,omitempty"`
	Nickname  string `json:"nickname,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// MessageContent is model Conversationmessagecontent (subset: the content
// types WhatsApp carries; the others are in content.go).
type MessageContent struct {
	ContentType    string                 `json:"contentType"`
	Attachment     *ContentAttachment     `json:"attachment,omitempty"`
	Text           *ContentText           `json:"text,omitempty"`
	QuickReply     *ContentQuickReply     `json:"quickReply,omitempty"`
	ButtonResponse *ContentButtonResponse `json:"buttonResponse,omitempty"`
	ListPicker     *ContentListPicker     `json:"listPicker,omitempty"`
	Location       *ContentLocation       `json:"location,omitempty"`
	Reactions      []ContentReaction      `json:"reactions,omitempty"`
	Template       *NotificationTemplate  `json:"template,omitempty"`
}

// ContentAttachment is model Conversationcontentattachment.
type ContentAttachment struct {
	ID               string `json:"id,omitempty"`
	MediaType        string `json:"mediaType,omitempty"`
	URL              string `json:"url,omitempty"`
	Mime             string `json:"mime,omitempty"`
	Text             string `json:"text,omitempty"`
	Sha256           string `json:"sha256,omitempty"`
	Filename         string `json:"filename,omitempty"`
	ContentSizeBytes int    `json:"contentSizeBytes,omitempty"`
}

// ContentText is model Conversationcontenttext.
type ContentText struct {
	Body string `json:"body"`
	Type string `json:"type,omitempty"`
}

// Reason is model Conversationreason.
type Reason struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Conversation is model Conversation (subset), the body of
// GET /api/v2/conversations/{conversationId}.
type Conversation struct {
	ID              string               `json:"id"`
	Name            string               `json:"name,omitempty"`
	StartTime       string               `json:"startTime,omitempty"`
	EndTime         string               `json:"endTime,omitempty"`
	Address         string               `json:"address,omitempty"`
	Participants    []Participant        `json:"participants"`
	ConversationIDs []string             `json:"conversationIds,omitempty"`
	RecordingState  string               `json:"recordingState,omitempty"`
	State           string               `json:"state,omitempty"`
	ExternalTag     string               `json:"externalTag,omitempty"`
	Divisions       []DivisionMembership `json:"divisions,omitempty"`
	SelfURI         string               `json:"selfUri,omitempty"`
}

// DivisionMembership is model Conversationdivisionmembership (subset).
type DivisionMembership struct {
	Division *DomainEntityRef `json:"division,omitempty"`
}

// Participant is model Participant (subset).
type Participant struct {
	ID                string            `json:"id"`
	StartTime         string            `json:"startTime,omitempty"`
	EndTime           string            `json:"endTime,omitempty"`
	ConnectedTime     string            `json:"connectedTime,omitempty"`
	Name              string            `json:"name,omitempty"`
	UserID            string            `json:"userId,omitempty"`
	QueueID           string            `json:"queueId,omitempty"`
	QueueName         string            `json:"queueName,omitempty"`
	Purpose           string            `json:"purpose,omitempty"`
	ParticipantType   string            `json:"participantType,omitempty"`
	Address           string            `json:"address,omitempty"`
	ExternalContactID string            `json:"externalContactId,omitempty"`
	Attributes        map[string]string `json:"attributes,omitempty"`
}

// ---- Legal hold: recording deletion protection ----

// DeletionProtectionQuery is model Conversationdeletionprotectionquery,
// the body of POST and PUT /api/v2/recordings/deletionprotection.
type DeletionProtectionQuery struct {
	ConversationIDs []string `json:"conversationIds"`
}

// MaxDeletionProtectionIDs is the most ids one deletion-protection call takes.
const MaxDeletionProtectionIDs = 100

// MaxBulkMessageIDs is the most message ids one messages/bulk call takes.
const MaxBulkMessageIDs = 1000

// AttachmentServedFor is how long after its message an attachment can be
// fetched through the messages API: its urls stop working 30 days after
// the message (Genesys, since 2021-05-10). Each url is pre-signed, with a
// life of its own, possibly shorter: a message read again within those
// days carries fresh ones.
const AttachmentServedFor = 30 * 24 * time.Hour

// ---- Audits ----

// AuditQueryFilter is model Auditqueryfilter.
type AuditQueryFilter struct {
	Property string `json:"property"`
	Value    string `json:"value"`
}

// AuditQuerySort is model Auditquerysort.
type AuditQuerySort struct {
	Name      string `json:"name"`
	SortOrder string `json:"sortOrder,omitempty"`
}

// MaxAuditServiceName is the longest serviceName ValidAuditServiceName
// accepts: the longest Genesys has named (Python SDK 257's enums) has 24
// characters.
const MaxAuditServiceName = 64

// ValidAuditServiceName reports whether s can be an audit serviceName
// (Auditqueryrequest.serviceName). The SDKs typed it as an enum until
// their lists of services grew too fast to keep (Java SDK 212: a plain
// string), and an org's services are listed by GET
// /api/v2/audits/query/servicemapping, so the set is open; but every name
// Genesys has given (Quality, ContactCenter, PeoplePermissions, GDPR,
// SCIM, RecordingService, …: the 60 of the Python SDK 257's enums) is a
// word of ASCII letters and digits starting with a letter, and the query
// requires one. An empty name, white space, punctuation or a name longer
// than MaxAuditServiceName is not a service Genesys files entries under:
// queried, it would find none (or be refused), and every legal hold would
// look as if nobody had applied it.
func ValidAuditServiceName(s string) bool {
	if s == "" || len(s) > MaxAuditServiceName {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// AuditQueryRequest is model Auditqueryrequest, body of POST /api/v2/audits/query.
type AuditQueryRequest struct {
	Interval    string             `json:"interval"`
	ServiceName string             `json:"serviceName"`
	Filters     []AuditQueryFilter `json:"filters,omitempty"`
	Sort        []AuditQuerySort   `json:"sort,omitempty"`
}

// Audit query states (model Auditqueryexecutionstatusresponse.state).
const (
	AuditQueued    = "Queued"
	AuditRunning   = "Running"
	AuditSucceeded = "Succeeded"
	AuditFailed    = "Failed"
	AuditCancelled = "Cancelled"
)

// AuditQueryExecutionStatus is model Auditqueryexecutionstatusresponse.
type AuditQueryExecutionStatus struct {
	ID          string             `json:"id"`
	State       string             `json:"state"`
	StartDate   string             `json:"startDate,omitempty"`
	Interval    string             `json:"interval,omitempty"`
	ServiceName string             `json:"serviceName,omitempty"`
	Filters     []AuditQueryFilter `json:"filters,omitempty"`
	Sort        []AuditQuerySort   `json:"sort,omitempty"`
}

// AuditQueryExecutionResults is model Auditqueryexecutionresultsresponse.
type AuditQueryExecutionResults struct {
	ID       string            `json:"id"`
	PageSize int               `json:"pageSize"`
	Cursor   string            `json:"cursor,omitempty"`
	Entities []AuditLogMessage `json:"entities"`
}

// AuditLogMessage is model Auditlogmessage (subset).
type AuditLogMessage struct {
	ID                   string            `json:"id"`
	UserHomeOrgID        string            `json:"userHomeOrgId,omitempty"`
	User                 *DomainEntityRef  `json:"user,omitempty"`
	Client               *EntityRef        `json:"client,omitempty"`
	RemoteIP             []string          `json:"remoteIp,omitempty"`
	ServiceName          string            `json:"serviceName,omitempty"`
	Level                string            `json:"level,omitempty"`
	EventDate            string            `json:"eventDate,omitempty"`
	Message              *MessageInfo      `json:"message,omitempty"`
	Action               string            `json:"action,omitempty"`
	Entity               *DomainEntityRef  `json:"entity,omitempty"`
	EntityType           string            `json:"entityType,omitempty"`
	Status               string            `json:"status,omitempty"`
	Application          string            `json:"application,omitempty"`
	InitiatingAction     *InitiatingAction `json:"initiatingAction,omitempty"`
	TransactionInitiator bool              `json:"transactionInitiator,omitempty"`
	PropertyChanges      []PropertyChange  `json:"propertyChanges,omitempty"`
	Context              map[string]string `json:"context,omitempty"`
	EntityChanges        []EntityChange    `json:"entityChanges,omitempty"`
}

// MessageInfo is model Messageinfo.
type MessageInfo struct {
	LocalizableMessageCode string            `json:"localizableMessageCode,omitempty"`
	Message                string            `json:"message,omitempty"`
	MessageWithParams      string            `json:"messageWithParams,omitempty"`
	MessageParams          map[string]string `json:"messageParams,omitempty"`
}

// InitiatingAction is model Initiatingaction.
type InitiatingAction struct {
	TransactionID string `json:"transactionId,omitempty"`
	ActionContext string `json:"actionContext,omitempty"`
}

// PropertyChange is model Propertychange.
type PropertyChange struct {
	Property  string   `json:"property"`
	OldValues []string `json:"oldValues"`
	NewValues []string `json:"newValues"`
}

// EntityChange is model Entitychange.
type EntityChange struct {
	EntityID   string   `json:"entityId,omitempty"`
	EntityName string   `json:"entityName,omitempty"`
	EntityType string   `json:"entityType,omitempty"`
	OldValues  []string `json:"oldValues"`
	NewValues  []string `json:"newValues"`
}

// MaxAuditPageSize is the largest pageSize audit results accept.
const MaxAuditPageSize = 500

// ---- Recording bulk jobs ----

// RecordingJobsQuery is model Recordingjobsquery, body of POST /api/v2/recording/jobs.
type RecordingJobsQuery struct {
	Action                  string                  `json:"action"`
	ActionDate              string                  `json:"actionDate,omitempty"`
	IntegrationID           string                  `json:"integrationId,omitempty"`
	ConversationQuery       *AsyncConversationQuery `json:"conversationQuery,omitempty"`
	IncludeScreenRecordings bool                    `json:"includeScreenRecordings,omitempty"`
	ClearExport             bool                    `json:"clearExport,omitempty"`
}

// Recording job states (model Recordingjob.state).
const (
	RecJobFulfilled  = "FULFILLED"
	RecJobPending    = "PENDING"
	RecJobReady      = "READY"
	RecJobProcessing = "PROCESSING"
	RecJobCancelled  = "CANCELLED"
	RecJobFailed     = "FAILED"
)

// RecordingJob is model Recordingjob.
type RecordingJob struct {
	ID                       string              `json:"id"`
	State                    string              `json:"state"`
	RecordingJobsQuery       *RecordingJobsQuery `json:"recordingJobsQuery,omitempty"`
	DateCreated              string              `json:"dateCreated,omitempty"`
	TotalConversations       int                 `json:"totalConversations"`
	TotalRecordings          int                 `json:"totalRecordings"`
	TotalSkippedRecordings   int                 `json:"totalSkippedRecordings"`
	TotalFailedRecordings    int                 `json:"totalFailedRecordings"`
	TotalProcessedRecordings int                 `json:"totalProcessedRecordings"`
	PercentProgress          int                 `json:"percentProgress"`
	ErrorMessage             string              `json:"errorMessage,omitempty"`
	SelfURI                  string              `json:"selfUri,omitempty"`
	User                     *EntityRef          `json:"user,omitempty"`
}

// RecordingJobState is the body of PUT /api/v2/recording/jobs/{jobId}.
type RecordingJobState struct {
	State string `json:"state"`
}

// Recording is model Recording (subset): one of a conversation's
// recordings as GET /api/v2/conversations/{conversationId}/recordings
// serves them. For a message conversation, messagingTranscript holds its
// messages, with attachments the Recordings service keeps after the
// messages API's urls for them stop working (AttachmentServedFor).
type Recording struct {
	ID                  string                      `json:"id,omitempty"`
	ConversationID      string                      `json:"conversationId,omitempty"`
	StartTime           string                      `json:"startTime,omitempty"`
	EndTime             string                      `json:"endTime,omitempty"`
	Media               string                      `json:"media,omitempty"`
	FileState           string                      `json:"fileState,omitempty"`
	MessagingTranscript []RecordingMessagingMessage `json:"messagingTranscript,omitempty"`
	SelfURI             string                      `json:"selfUri,omitempty"`
}

// RecordingURLLife is how long a url the Recordings service hands out
// works: at most 60 minutes.
const RecordingURLLife = time.Hour

// RecordingMessagingMessage is model Recordingmessagingmessage (subset):
// one message of a Recording's messagingTranscript, the shape the
// Recording API exports. It has no legal-hold or audit field.
type RecordingMessagingMessage struct {
	From                    string                   `json:"from,omitempty"`
	FromUser                *UserRef                 `json:"fromUser,omitempty"`
	To                      string                   `json:"to,omitempty"`
	Timestamp               string                   `json:"timestamp,omitempty"`
	ID                      string                   `json:"id,omitempty"`
	Status                  string                   `json:"status,omitempty"`
	Purpose                 string                   `json:"purpose,omitempty"`
	ParticipantID           string                   `json:"participantId,omitempty"`
	Queue                   *EntityRef               `json:"queue,omitempty"`
	MessageText             string                   `json:"messageText,omitempty"`
	MessageMediaAttachments []MessageMediaAttachment `json:"messageMediaAttachments,omitempty"`
	// MessageStickerAttachments are the message's stickers, a list of
	// its own beside MessageMediaAttachments (a message may have both).
	MessageStickerAttachments []MessageStickerAttachment `json:"messageStickerAttachments,omitempty"`
	ContentType               string                     `json:"contentType,omitempty"`
	// NotificationTemplate is the message's WhatsApp template, whose
	// header media the Recordings service keeps like an attachment.
	NotificationTemplate *RecordingNotificationTemplate `json:"notificationTemplate,omitempty"`
}

// RecordingNotificationTemplate is model Recordingnotificationtemplate
// (subset): a template as a recording's transcript gives it.
type RecordingNotificationTemplate struct {
	ID       string                   `json:"id,omitempty"`
	Language string                   `json:"language,omitempty"`
	Header   *RecordingTemplateHeader `json:"header,omitempty"`
	Body     *RecordingTemplateText   `json:"body,omitempty"`
	Footer   *RecordingTemplateText   `json:"footer,omitempty"`
}

// RecordingTemplateHeader is model Recordingtemplateheader (type Text or
// Media).
type RecordingTemplateHeader struct {
	Type  string               `json:"type,omitempty"`
	Text  string               `json:"text,omitempty"`
	Media *RecordingAttachment `json:"media,omitempty"`
}

// RecordingTemplateText is model Recordingtemplatebody or
// Recordingtemplatefooter: text alone.
type RecordingTemplateText struct {
	Text string `json:"text,omitempty"`
}

// RecordingAttachment is model Recordingattachment: note fileName, where
// the messages API's attachment has filename.
type RecordingAttachment struct {
	ID        string `json:"id,omitempty"`
	URL       string `json:"url,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	Mime      string `json:"mime,omitempty"`
	Text      string `json:"text,omitempty"`
	FileName  string `json:"fileName,omitempty"`
}

// MessageMediaAttachment is model Messagemediaattachment.
type MessageMediaAttachment struct {
	ID            string `json:"id,omitempty"`
	URL           string `json:"url,omitempty"`
	MediaType     string `json:"mediaType,omitempty"`
	ContentLength int    `json:"contentLength,omitempty"`
	Name          string `json:"name,omitempty"`
}

// MessageStickerAttachment is model Messagestickerattachment: a sticker
// of a recording's transcript message.
type MessageStickerAttachment struct {
	ID  string `json:"id,omitempty"`
	URL string `json:"url,omitempty"`
}
