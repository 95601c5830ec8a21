package recexport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

func testOrg() *sim.Org {
	return sim.NewOrg(sim.OrgConfig{Seed: 4, Conversations: 40, OtherMediaShare: 0.25, LegalHoldShare: 0.2})
}

// tree hashes every file under dir, by relative name.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	org := testOrg()
	for _, shape := range []string{ShapeGenesys, ShapeReshape} {
		t.Run(shape, func(t *testing.T) {
			var trees []map[string]string
			var manifests []Manifest
			for _, conc := range []int{1, 6} {
				dir := t.TempDir()
				p := DefaultProfile(shape, 42)
				p.Concurrency = conc
				m, err := Export(context.Background(), org, nil, Target{Dir: dir}, p)
				if err != nil {
					t.Fatal(err)
				}
				m.Target, m.Profile.Concurrency = "", 0
				trees = append(trees, tree(t, dir))
				manifests = append(manifests, m)
			}
			if !maps.Equal(trees[0], trees[1]) {
				t.Error("exports differ between runs")
			}
			if !reflect.DeepEqual(manifests[0], manifests[1]) {
				t.Error("manifests differ between runs")
			}
			// Another seed damages differently.
			dir := t.TempDir()
			if _, err := Export(context.Background(), org, nil, Target{Dir: dir}, DefaultProfile(shape, 43)); err != nil {
				t.Fatal(err)
			}
			if maps.Equal(trees[0], tree(t, dir)) {
				t.Error("a different seed gave the same export")
			}
		})
	}
}

var (
	genesysName = regexp.MustCompile(`^[0-9a-f-]{36}/year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}/conversation_id=([0-9a-f-]{36})/([0-9a-f-]{36})(_metadata)?\.json$`)
	reshapeName = regexp.MustCompile(`^[0-9a-f-]{36}/(whatsapp|sms|webmessaging)/\d{4}-\d{2}-\d{2}/([0-9a-f-]{36})\.json$`)
)

// TestLayout checks the files against the documented shapes: names,
// required keys, and that exactly the truncated files fail to parse.
func TestLayout(t *testing.T) {
	org := testOrg()
	for _, shape := range []string{ShapeGenesys, ShapeReshape} {
		t.Run(shape, func(t *testing.T) {
			dir := t.TempDir()
			p := DefaultProfile(shape, 7)
			p.TruncateFiles = 0.2
			m, err := Export(context.Background(), org, nil, Target{Dir: dir}, p)
			if err != nil {
				t.Fatal(err)
			}
			truncated := map[string]bool{}
			for _, d := range m.Damages {
				if d.Kind == finding.FileUnreadable {
					truncated[d.File] = true
				}
			}
			if len(truncated) == 0 {
				t.Fatal("no file truncated")
			}
			files := tree(t, dir)
			if len(files) != m.Files {
				t.Errorf("%d files on disk, manifest says %d", len(files), m.Files)
			}
			messages, offsets := 0, 0
			for name := range files {
				re := genesysName
				if shape == ShapeReshape {
					re = reshapeName
				}
				if !re.MatchString(name) {
					t.Errorf("file name %q does not follow the %s layout", name, shape)
				}
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte("+05:30")) {
					offsets++
				}
				var doc map[string]json.RawMessage
				err = json.Unmarshal(b, &doc)
				if truncated[name] != (err != nil) {
					t.Errorf("%s: truncated=%v but parse error %v", name, truncated[name], err)
				}
				if err != nil || strings.HasSuffix(name, "_metadata.json") {
					continue
				}
				key := "messagingTranscript"
				if shape == ShapeReshape {
					key = "messages"
					var ch string
					if json.Unmarshal(doc["channel"], &ch) != nil || ch == "" {
						t.Errorf("%s: no channel", name)
					}
				}
				var msgs []map[string]any
				if err := json.Unmarshal(doc[key], &msgs); err != nil {
					t.Fatalf("%s: %s: %v", name, key, err)
				}
				for _, msg := range msgs {
					for _, k := range []string{"legalHold", "legal_hold", "auditTrailId", "audit_trail_id"} {
						if _, ok := msg[k]; ok {
							t.Errorf("%s: message has %q: the export formats have no such field", name, k)
						}
					}
					if shape == ShapeReshape {
						if len(msg) != 3 || msg["id"] == nil || msg["timestamp"] == nil || msg["content"] == nil {
							t.Errorf("%s: reshape message %v: want exactly id, content, timestamp", name, msg)
						}
						if ts, _ := msg["timestamp"].(string); strings.Contains(ts, ".") {
							t.Errorf("%s: reshape timestamp %q keeps sub-seconds", name, ts)
						}
					}
				}
				messages += len(msgs)
			}
			if offsets == 0 {
				t.Error("no file with +05:30 timestamps: the zone-offset case is not exercised")
			}
			if messages >= m.MessagesReadable || m.MessagesReadable > m.Messages {
				t.Errorf("messages in parseable files %d, readable %d, written %d", messages, m.MessagesReadable, m.Messages)
			}
		})
	}
}

// TestTruncationBoundary checks the rule the ground truth relies on: a
// message survives truncation exactly when its closing brace does.
func TestTruncationBoundary(t *testing.T) {
	org := sim.NewOrg(sim.OrgConfig{Seed: 9, Conversations: 120})
	p := CleanProfile(ShapeGenesys, 1)
	p.TruncateFiles = 1
	dir := t.TempDir()
	m, err := Export(context.Background(), org, nil, Target{Dir: dir}, p)
	if err != nil {
		t.Fatal(err)
	}
	lost := m.Counts[finding.MissingFromExport]
	if lost == 0 || m.MessagesReadable == 0 || m.Counts[finding.FileUnreadable] != m.Conversations {
		t.Fatalf("counts %v, readable %d of %d", m.Counts, m.MessagesReadable, m.Messages)
	}
	if m.MessagesReadable+lost != m.Messages {
		t.Errorf("readable %d + lost %d != written %d", m.MessagesReadable, lost, m.Messages)
	}
	// Decode the surviving elements with a streaming decoder, as a reader would.
	n := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "_metadata.json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%s: no transcript before the cut: %v", path, err)
			}
			if tok == "messagingTranscript" {
				break
			}
		}
		if _, err := dec.Token(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for dec.More() {
			var msg genesys.RecordingMessagingMessage
			if dec.Decode(&msg) != nil {
				break
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != m.MessagesReadable {
		t.Errorf("decoded %d messages, manifest says %d readable", n, m.MessagesReadable)
	}
}

func TestProfileAndTargetErrors(t *testing.T) {
	org := sim.NewOrg(sim.OrgConfig{Seed: 1, Conversations: 2})
	ctx := context.Background()
	bad := DefaultProfile(ShapeGenesys, 1)
	bad.DropMessages = 1.5
	if _, err := Export(ctx, org, nil, Target{Dir: t.TempDir()}, bad); !errors.Is(err, ErrBadProfile) {
		t.Errorf("share 1.5: err = %v", err)
	}
	if _, err := Export(ctx, org, nil, Target{Dir: t.TempDir()}, DefaultProfile("xml", 1)); !errors.Is(err, ErrBadProfile) {
		t.Errorf("shape xml: err = %v", err)
	}
	if _, err := Export(ctx, org, nil, Target{}, DefaultProfile(ShapeGenesys, 1)); !errors.Is(err, ErrNoTarget) {
		t.Errorf("no target: err = %v", err)
	}
	if _, err := Export(ctx, org, []string{"nope"}, Target{Dir: t.TempDir()}, DefaultProfile(ShapeGenesys, 1)); err == nil {
		t.Error("unknown conversation: no error")
	}
	dir := t.TempDir()
	e := &Exporter{Target: Target{Dir: dir}, Profile: DefaultProfile(ShapeGenesys, 1), ManifestPath: filepath.Join(dir, "sub", "truth.json")}
	if _, err := e.RunExport(ctx, org, sim.ExportJob{ConversationIDs: []string{org.ConversationID(0)}}, func(int) {}); !errors.Is(err, ErrManifestInTarget) {
		t.Errorf("manifest inside target: err = %v", err)
	}
	if _, err := OpenTarget(ctx, "s3://B/x", s3util.Config{}); err == nil {
		t.Error("bad bucket accepted")
	}
}

// TestSimRecordingJob runs an export through the simulator's Recording
// API, as a client would, and checks files, progress and the manifest.
func TestSimRecordingJob(t *testing.T) {
	out := t.TempDir()
	truth := filepath.Join(t.TempDir(), "truth.json")
	exp := &Exporter{Target: Target{Dir: out}, Profile: DefaultProfile(ShapeGenesys, 8), ManifestPath: truth}
	srv := simtest.Start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 2, Conversations: 30}, RecordingExporter: exp})
	ctx := context.Background()

	var token string
	call := func(method, path string, body, into any) int {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequestWithContext(ctx, method, srv.APIURL+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if path == "/oauth/token" {
			req, _ = http.NewRequestWithContext(ctx, method, srv.LoginURL+path, strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(srv.ClientID, srv.ClientSecret)
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if into != nil {
			if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
				t.Fatalf("%s %s: %d: decode: %v", method, path, resp.StatusCode, err)
			}
		}
		return resp.StatusCode
	}
	var tok genesys.TokenResponse
	if st := call("POST", "/oauth/token", nil, &tok); st != 200 {
		t.Fatalf("token: %d", st)
	}
	token = tok.AccessToken
	var job genesys.RecordingJob
	st := call("POST", "/api/v2/recording/jobs", genesys.RecordingJobsQuery{
		Action: "EXPORT", IntegrationID: "s3-integration",
		ConversationQuery: &genesys.AsyncConversationQuery{Interval: "2024-01-01T00:00:00Z/2024-04-01T00:00:00Z"},
	}, &job)
	if st != http.StatusAccepted || job.ID == "" {
		t.Fatalf("create job: %d %+v", st, job)
	}
	deadline := time.Now().Add(20 * time.Second)
	for job.State != genesys.RecJobReady && time.Now().Before(deadline) {
		call("GET", "/api/v2/recording/jobs/"+job.ID, nil, &job)
	}
	if st := call("PUT", "/api/v2/recording/jobs/"+job.ID, genesys.RecordingJobState{State: genesys.RecJobProcessing}, nil); st != http.StatusAccepted {
		t.Fatalf("start job: %d", st)
	}
	for job.State != genesys.RecJobFulfilled && job.State != genesys.RecJobFailed && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		call("GET", "/api/v2/recording/jobs/"+job.ID, nil, &job)
	}
	if job.State != genesys.RecJobFulfilled || job.TotalProcessedRecordings != job.TotalConversations || job.TotalConversations == 0 {
		t.Fatalf("job ended %+v", job)
	}
	m, err := ReadManifest(truth)
	if err != nil {
		t.Fatal(err)
	}
	if m.Conversations+m.ConversationsSkipped+m.ConversationsFailed != job.TotalConversations {
		t.Errorf("manifest covers %d+%d+%d conversations, job had %d", m.Conversations, m.ConversationsSkipped, m.ConversationsFailed, job.TotalConversations)
	}
	// Honest counters: what the export left out is counted failed or
	// skipped (voice conversations and sensitive data skipped, no
	// recording failed), each left-out messaging conversation a damage.
	if job.TotalFailedRecordings != m.ConversationsFailed || job.TotalSkippedRecordings != m.ConversationsSkipped || m.ConversationsFailed == 0 || m.ConversationsSkipped == 0 {
		t.Errorf("job counters failed %d skipped %d, manifest %d and %d", job.TotalFailedRecordings, job.TotalSkippedRecordings, m.ConversationsFailed, m.ConversationsSkipped)
	}
	voice := 0
	for i := range srv.Org.Len() {
		if srv.Org.Kind(i) == sim.KindVoice {
			voice++
		}
	}
	if m.ConversationsSkipped+m.ConversationsFailed != voice+m.Counts[finding.ConversationAbsent] {
		t.Errorf("%d skipped + %d failed, want %d voice + %d conversation_absent", m.ConversationsSkipped, m.ConversationsFailed, voice, m.Counts[finding.ConversationAbsent])
	}
	if files := tree(t, out); len(files) != m.Files || m.Files == 0 {
		t.Errorf("%d files written, manifest says %d", len(files), m.Files)
	}
	if !reflect.DeepEqual(exp.Last(), m) {
		t.Error("Last() differs from the manifest file")
	}
}

// TestDamageKinds: every damage a manifest names is a finding kind of the
// table (a diff can report it, conversation_absent included);
// the default profile does every kind the table has, but what a shape
// cannot do: the reshape alters no sender (it has none) nor template
// header media (it keeps no media: format_lacks).
func TestDamageKinds(t *testing.T) {
	org := sim.NewOrg(sim.OrgConfig{Seed: 11, Conversations: 80})
	for _, shape := range []string{ShapeGenesys, ShapeReshape} {
		m, err := Export(context.Background(), org, nil, Target{Dir: t.TempDir()}, DefaultProfile(shape, 1))
		if err != nil {
			t.Fatal(err)
		}
		for k := range m.Counts {
			if _, ok := finding.Lookup(k); !ok {
				t.Errorf("%s: damage kind %q is not in the finding table", shape, k)
			}
		}
		for _, in := range finding.Kinds() {
			if m.Counts[in.Kind] == 0 && !cannotDo(shape, in.Kind) {
				t.Errorf("%s: the default profile did no %s damage", shape, in.Kind)
			}
		}
	}
}

// TestDamageOrigins: every damage names who did it, the default profile
// has damage of all three origins, and each kind comes from the origin
// the Profile documents (a gap's cause with it).
func TestDamageOrigins(t *testing.T) {
	org := sim.NewOrg(sim.OrgConfig{Seed: 11, Conversations: 80})
	_, end := org.Span(org.Len() - 1)
	p := DefaultProfile(ShapeGenesys, 1)
	p.RunAt = end.Add(24 * time.Hour)
	m, err := Export(context.Background(), org, nil, Target{Dir: t.TempDir()}, p)
	if err != nil {
		t.Fatal(err)
	}
	tampering := map[finding.Kind]bool{finding.TimestampShifted: true, finding.ContentDiffers: true, finding.ValueAltered: true, finding.NotCaptured: true}
	origins := map[Origin]int{}
	for _, d := range m.Damages {
		origins[d.Origin]++
		switch {
		case d.Origin != OriginGenesysExporter && d.Origin != OriginCustomerPipeline && d.Origin != OriginTampering:
			t.Fatalf("damage without a known origin: %+v", d)
		case tampering[d.Kind] != (d.Origin == OriginTampering):
			t.Errorf("%s from %s", d.Kind, d.Origin)
		case d.Kind == finding.ConversationAbsent && (d.Origin != OriginGenesysExporter || d.Cause == ""):
			t.Errorf("conversation left out: %+v", d)
		case d.Kind == finding.TimestampPrecisionLost && d.Origin != OriginCustomerPipeline:
			t.Errorf("seconds from %s", d.Origin)
		}
	}
	if len(origins) != 3 {
		t.Errorf("origins %v, want all three", origins)
	}
}

// TestSensitiveAndDataLake: conversations with sensitive data are left out
// (skipped) unless asked for, those that ended within the data lake's lag
// before the run are left out (skipped), and a metadata file says
// mediaType Message.
func TestSensitiveAndDataLake(t *testing.T) {
	org := sim.NewOrg(sim.OrgConfig{Seed: 11, Conversations: 80, OtherMediaShare: 0.0001})
	var sensitive int
	for i := range org.Len() {
		if org.ConversationAt(i).SensitiveData {
			sensitive++
		}
	}
	if sensitive == 0 {
		t.Fatal("no conversation with sensitive data in the org")
	}
	_, end := org.Span(org.Len() - 1)
	run := func(p Profile) Manifest {
		t.Helper()
		dir := t.TempDir()
		m, err := Export(context.Background(), org, nil, Target{Dir: dir}, p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Shape == ShapeGenesys {
			for name := range tree(t, dir) {
				if !strings.HasSuffix(name, "_metadata.json") {
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || !strings.Contains(string(b), `"mediaType": "Message"`) {
					t.Fatalf("%s: %s %v", name, b, err)
				}
			}
		}
		return m
	}
	p := CleanProfile(ShapeGenesys, 1)
	if m := run(p); m.ConversationsSkipped != 0 || m.Conversations != org.Len() {
		t.Fatalf("clean, sensitive asked for: %d written, %d skipped", m.Conversations, m.ConversationsSkipped)
	}
	p.IncludeSensitiveData = false
	if m := run(p); m.ConversationsSkipped != sensitive || m.Counts[finding.ConversationAbsent] != sensitive {
		t.Fatalf("sensitive not asked for: %d skipped, %d absent, want %d", m.ConversationsSkipped, m.Counts[finding.ConversationAbsent], sensitive)
	}
	p.IncludeSensitiveData, p.RunAt = true, end.Add(time.Hour)
	m := run(p)
	pending := 0
	for i := range org.Len() {
		if _, e := org.Span(i); e.After(p.RunAt.Add(-DefaultDataLakeLag)) {
			pending++
		}
	}
	if pending == 0 || m.ConversationsSkipped != pending {
		t.Fatalf("data lake: %d skipped, want %d", m.ConversationsSkipped, pending)
	}
}

// cannotDo says whether a shape's exports cannot show kind (TestDamageKinds).
func cannotDo(shape string, kind finding.Kind) bool {
	return shape == ShapeReshape && kind == finding.ValueAltered
}

// TestGenesysFilesMatchSDKModel: every recording file of a clean genesys
// export is a Recording as the current SDK model has it — no field outside
// the model, no other JSON type, no value outside an enum (an attachment's
// mediaType among them: only image/png, image/jpeg or image/gif, left out
// otherwise, as the simulator's GET …/recordings gives it). The org has
// attachments of many types (stickers, documents, audio, video).
func TestGenesysFilesMatchSDKModel(t *testing.T) {
	sc := simtest.LoadSchema(t)
	org := sim.NewOrg(sim.OrgConfig{Seed: 11, Conversations: 120, OtherMediaShare: 0.3})
	dir := t.TempDir()
	if _, err := Export(context.Background(), org, nil, Target{Dir: dir}, CleanProfile(ShapeGenesys, 1)); err != nil {
		t.Fatal(err)
	}
	types := map[string]int{} // the attachments' mediaType as written
	files := 0
	for name := range tree(t, dir) {
		if strings.HasSuffix(name, "_metadata.json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files++
		for _, e := range sc.Check("Recording", b) {
			t.Errorf("%s: %s", name, e)
		}
		var rec genesys.Recording
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		for _, rm := range rec.MessagingTranscript {
			for _, a := range rm.MessageMediaAttachments {
				types[a.MediaType]++
			}
		}
	}
	// Attachments with and without a mediaType were written: both cases
	// were checked.
	if files == 0 || types[""] == 0 || len(types) < 2 {
		t.Fatalf("%d recording files, attachments by mediaType %v: the test would prove little", files, types)
	}
}

// TestGenesysFilesCarryTemplateHeaderMedia: a WhatsApp template is written
// with its notificationTemplate (model Recordingmessagingmessage has it),
// its header media (Recordingattachment: id, url, mediaType, mime,
// fileName) the org's; a message without a template has none.
func TestGenesysFilesCarryTemplateHeaderMedia(t *testing.T) {
	org := sim.NewOrg(sim.OrgConfig{Seed: 11, Conversations: 120, MediaBaseURL: "http://media.test"})
	dir := t.TempDir()
	if _, err := Export(context.Background(), org, nil, Target{Dir: dir}, CleanProfile(ShapeGenesys, 1)); err != nil {
		t.Fatal(err)
	}
	want := map[string]*genesys.ContentAttachment{} // message id → its template's header media
	for i := range org.Len() {
		c := org.ConversationAt(i)
		for k := range c.Messages {
			if n := c.Messages[k].NormalizedMessage; n != nil {
				for _, ct := range n.Content {
					if tm := ct.Template; tm != nil && tm.Header != nil && tm.Header.Media != nil {
						want[c.Messages[k].ID] = tm.Header.Media
					}
				}
			}
		}
	}
	seen := 0
	for name := range tree(t, dir) {
		if strings.HasSuffix(name, "_metadata.json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var rec genesys.Recording
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		for _, rm := range rec.MessagingTranscript {
			w := want[rm.ID]
			var got *genesys.RecordingAttachment
			if nt := rm.NotificationTemplate; nt != nil && nt.Header != nil {
				got = nt.Header.Media
			}
			switch {
			case w == nil && got != nil:
				t.Errorf("%s: message %s has no template header media, the file gives %+v", name, rm.ID, got)
			case w == nil:
			case got == nil:
				t.Errorf("%s: message %s: template header media %s not written", name, rm.ID, w.ID)
			case *got != genesys.RecordingAttachment{ID: w.ID, URL: w.URL, MediaType: w.MediaType, Mime: w.Mime, FileName: w.Filename}:
				t.Errorf("%s: message %s: header media %+v, want %+v", name, rm.ID, got, w)
			default:
				seen++
			}
		}
	}
	if seen < 5 || seen != len(want) {
		t.Errorf("%d of the org's %d template header media written", seen, len(want))
	}
}

// TestAttachmentDamage: the default profile leaves out (field_stripped)
// or replaces one of (value_altered) some messages' attachments in the
// genesys shape, as its manifest says and the files show — every other
// message's attachments are the org's, by id, its media and stickers
// (messageStickerAttachments) together — and draws them from a
// stream of its own: with those shares at 0, every other damage of the
// seed is the same, in the same order (but for the byte a truncated file
// is cut at: the same share of a file they make shorter or longer).
func TestAttachmentDamage(t *testing.T) {
	org := sim.NewOrg(sim.OrgConfig{Seed: 11, Conversations: 80})
	want := map[string][]string{} // message id → the org's attachment ids, sorted
	for i := range org.Len() {
		c := org.ConversationAt(i)
		for k := range c.Messages {
			if ids := genesys.AttachmentIDs(&c.Messages[k]); len(ids) > 0 {
				want[c.Messages[k].ID] = slices.Sorted(slices.Values(ids))
			}
		}
	}
	for _, seed := range []uint64{1, 2} {
		dir := t.TempDir()
		p := DefaultProfile(ShapeGenesys, seed)
		m, err := Export(context.Background(), org, nil, Target{Dir: dir}, p)
		if err != nil {
			t.Fatal(err)
		}
		p.DropAttachments, p.ReplaceAttachments = 0, 0
		without, err := Export(context.Background(), org, nil, Target{Dir: t.TempDir()}, p)
		if err != nil {
			t.Fatal(err)
		}
		damaged := map[string]finding.Kind{}
		var others []Damage
		for _, d := range m.Damages {
			if d.Field == finding.FieldAttachments {
				damaged[d.MessageID] = d.Kind
				continue
			}
			others = append(others, d)
		}
		cutAt := regexp.MustCompile(`^file cut short at byte \d+ of \d+$`)
		for _, ds := range [][]Damage{others, without.Damages} {
			for i := range ds {
				if ds[i].Kind == finding.FileUnreadable && cutAt.MatchString(ds[i].Detail) {
					ds[i].Detail = "file cut short"
				}
			}
		}
		if !reflect.DeepEqual(others, without.Damages) {
			t.Errorf("seed %d: the other damage differs once attachments are damaged too (%d damages, %d without)", seed, len(others), len(without.Damages))
		}
		kinds := map[finding.Kind]int{}
		for _, k := range damaged {
			kinds[k]++
		}
		if kinds[finding.FieldStripped] == 0 || kinds[finding.ValueAltered] == 0 || len(kinds) != 2 {
			t.Errorf("seed %d: attachment damage %v: the test would prove little", seed, kinds)
		}
		seen, stickers := 0, 0
		for name := range tree(t, dir) {
			if strings.HasSuffix(name, "_metadata.json") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var rec genesys.Recording
			if json.Unmarshal(b, &rec) != nil {
				continue // cut short (TruncateFiles): its readable part is the diff's ground truth
			}
			for _, rm := range rec.MessagingTranscript {
				var got []string
				for _, a := range rm.MessageMediaAttachments {
					got = append(got, a.ID)
				}
				for _, a := range rm.MessageStickerAttachments {
					got = append(got, a.ID)
					stickers++
				}
				slices.Sort(got)
				w := want[rm.ID]
				switch damaged[rm.ID] {
				case finding.FieldStripped:
					if len(w) == 0 || len(got) != 0 {
						t.Errorf("seed %d: message %s: attachments %v left out, the file gives %v", seed, rm.ID, w, got)
					}
				case finding.ValueAltered:
					if len(w) == 0 || len(got) != len(w) || slices.Equal(got, w) {
						t.Errorf("seed %d: message %s: one of %v replaced, the file gives %v", seed, rm.ID, w, got)
					}
				default:
					if !slices.Equal(got, w) {
						t.Errorf("seed %d: message %s: attachments %v, want the org's %v", seed, rm.ID, got, w)
					}
				}
				if damaged[rm.ID] != "" {
					seen++
				}
			}
		}
		if seen == 0 || stickers == 0 {
			t.Errorf("seed %d: %d damaged attachments in readable files, %d stickers written apart", seed, seen, stickers)
		}
	}
}
