package sim

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

type recordingJob struct {
	job       genesys.RecordingJob
	seq       uint64 // creation order, for the listing
	created   time.Time
	convIDs   []string
	sensitive bool // includeRecordingsWithSensitiveData
	cancel    context.CancelFunc
}

func unfinished(state string) bool {
	switch state {
	case genesys.RecJobPending, genesys.RecJobReady, genesys.RecJobProcessing:
		return true
	}
	return false
}

// refresh moves a PENDING job to READY once RecordingJobDelay has passed.
// Callers hold s.mu.
func (s *Server) refresh(j *recordingJob, now time.Time) {
	if j.job.State == genesys.RecJobPending && now.Sub(j.created) >= s.opts.RecordingJobDelay {
		j.job.State = genesys.RecJobReady
	}
}

// createRecordingJob is POST /api/v2/recording/jobs (action EXPORT only).
func (s *Server) createRecordingJob(w *resp, r *http.Request) {
	var body recordingJobsQuery
	if !w.decode(r, &body) {
		return
	}
	switch body.Action {
	case "EXPORT":
	case "ARCHIVE", "DELETE":
		w.badRequest("action %s is not supported by the simulator (EXPORT only)", body.Action)
		return
	default:
		w.badRequest("action must be EXPORT, ARCHIVE or DELETE, not %q", body.Action)
		return
	}
	if body.IntegrationID == "" {
		w.badRequest("integrationId is required for EXPORT")
		return
	}
	// Conversations up to 5 years old are chosen by conversationQuery,
	// older ones by agedConversationInterval. includeRecordingsWithSensitiveData
	// goes to the exporter; the simulated org has no screen or snippet
	// recordings, so the other include* flags change nothing.
	cq := body.ConversationQuery
	switch {
	case cq == nil && body.AgedConversationInterval == "":
		w.badRequest("conversationQuery or agedConversationInterval is required")
		return
	case cq != nil && body.AgedConversationInterval != "":
		w.badRequest("give conversationQuery or agedConversationInterval, not both")
		return
	case cq == nil:
		cq = &asyncConversationQuery{Interval: body.AgedConversationInterval}
	}
	q, err := compileQuery(cq.Interval, cq.Order, cq.OrderBy, cq.detailFilters)
	if err != nil {
		w.badRequest("conversationQuery: %v", err)
		return
	}
	now := s.now()
	s.mu.Lock()
	active := 0
	for _, j := range s.recJobs {
		s.refresh(j, now)
		if unfinished(j.job.State) {
			active++
		}
	}
	if active >= s.opts.MaxRecordingJobs {
		s.mu.Unlock()
		w.badRequest("At most %d recording jobs may be unfinished at once; wait for one to finish or cancel it.", s.opts.MaxRecordingJobs)
		return
	}
	s.recJobSeq++
	id := uuidOf(s.live, tagJob, 2, s.recJobSeq)
	s.mu.Unlock()

	var ids []string
	s.scan(q, -1, func(i int) bool {
		if cq.Limit <= 0 || len(ids) < cq.Limit {
			ids = append(ids, s.Org.ConversationID(i))
			return true
		}
		return false
	})
	j := &recordingJob{seq: s.recJobSeq, created: now, convIDs: ids, sensitive: body.IncludeRecordingsWithSensitiveData, job: genesys.RecordingJob{
		ID: id, State: genesys.RecJobPending, RecordingJobsQuery: body.wire(), DateCreated: ts(now),
		TotalConversations: len(ids), TotalRecordings: len(ids),
		SelfURI: "/api/v2/recording/jobs/" + id, User: &genesys.EntityRef{ID: s.ClientID},
	}}
	s.mu.Lock()
	s.refresh(j, now)
	s.recJobs[id] = j
	out := j.job
	s.mu.Unlock()
	w.json(http.StatusAccepted, out)
}

func (s *Server) recJob(w *resp, r *http.Request) (*recordingJob, bool) {
	s.mu.Lock()
	j, ok := s.recJobs[r.PathValue("jobId")]
	if ok {
		s.refresh(j, s.now())
	}
	s.mu.Unlock()
	if !ok {
		w.notFound("recording job")
	}
	return j, ok
}

// getRecordingJob is GET /api/v2/recording/jobs/{jobId}.
func (s *Server) getRecordingJob(w *resp, r *http.Request) {
	j, ok := s.recJob(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	out := j.job
	s.mu.Unlock()
	w.json(http.StatusOK, out)
}

// putRecordingJob is PUT /api/v2/recording/jobs/{jobId} {"state":"PROCESSING"}:
// runs a READY job through the RecordingExporter in the background.
func (s *Server) putRecordingJob(w *resp, r *http.Request) {
	var body genesys.RecordingJobState
	if !w.decode(r, &body) {
		return
	}
	j, ok := s.recJob(w, r)
	if !ok {
		return
	}
	if body.State != genesys.RecJobProcessing {
		w.badRequest("state must be PROCESSING, not %q", body.State)
		return
	}
	s.mu.Lock()
	if j.job.State != genesys.RecJobReady {
		st := j.job.State
		s.mu.Unlock()
		w.badRequest("The job is %s; only a READY job can be set to PROCESSING.", st)
		return
	}
	j.job.State = genesys.RecJobProcessing
	ctx, cancel := context.WithCancel(s.bgCtx)
	j.cancel = cancel
	out := j.job
	s.mu.Unlock()

	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer cancel()
		res, err := s.runExport(ctx, j)
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case j.job.State != genesys.RecJobProcessing: // cancelled meanwhile
		case err != nil:
			j.job.State = genesys.RecJobFailed
			j.job.ErrorMessage = err.Error()
			j.job.TotalFailedRecordings = j.job.TotalRecordings - j.job.TotalProcessedRecordings
			s.log.Warn("sim: recording export failed", "job", j.job.ID, "err", err)
		default:
			// Honest counters: what the export left out is failed or
			// skipped, not silently part of a clean FULFILLED.
			j.job.State = genesys.RecJobFulfilled
			j.job.TotalProcessedRecordings = j.job.TotalRecordings
			j.job.TotalFailedRecordings = res.Failed
			j.job.TotalSkippedRecordings = res.Skipped
			j.job.PercentProgress = 100
		}
	}()
	w.json(http.StatusAccepted, out)
}

func (s *Server) runExport(ctx context.Context, j *recordingJob) (ExportResult, error) {
	if s.opts.RecordingExporter == nil {
		return ExportResult{}, fmt.Errorf("recording export: %w", ErrNoExporter)
	}
	total := len(j.convIDs)
	job := ExportJob{ConversationIDs: j.convIDs, IncludeSensitiveData: j.sensitive, RunAt: s.now()}
	res, err := s.opts.RecordingExporter.RunExport(ctx, s.Org, job, func(done int) {
		s.mu.Lock()
		j.job.TotalProcessedRecordings = min(max(done, 0), total)
		if total > 0 {
			j.job.PercentProgress = j.job.TotalProcessedRecordings * 100 / total
		}
		s.mu.Unlock()
	})
	if err != nil {
		return res, fmt.Errorf("recording export: %w", err)
	}
	return res, nil
}

// deleteRecordingJob is DELETE /api/v2/recording/jobs/{jobId}: cancels an
// unfinished job.
func (s *Server) deleteRecordingJob(w *resp, r *http.Request) {
	j, ok := s.recJob(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	if unfinished(j.job.State) {
		j.job.State = genesys.RecJobCancelled
		if j.cancel != nil {
			j.cancel()
		}
	}
	s.mu.Unlock()
	w.noContent(http.StatusAccepted)
}

// listRecordingJobs is GET /api/v2/recording/jobs?pageSize=&pageNumber=&state=:
// the org's recording jobs, oldest first (sortBy and showOnlyMyJobs change
// nothing: every job is the one client's).
func (s *Server) listRecordingJobs(w *resp, r *http.Request) {
	size, err := queryInt(r, "pageSize", defaultListPageSize)
	if err != nil {
		w.badRequest("%v", err)
		return
	}
	number, err := queryInt(r, "pageNumber", 1)
	if err != nil {
		w.badRequest("%v", err)
		return
	}
	if size < 1 || size > maxListPageSize || number < 1 {
		w.badRequest("pageSize must be between 1 and %d and pageNumber at least 1", maxListPageSize)
		return
	}
	state := strings.ToUpper(r.URL.Query().Get("state"))
	now := s.now()
	s.mu.Lock()
	var all []*recordingJob
	for _, j := range s.recJobs {
		s.refresh(j, now)
		if state == "" || j.job.State == state {
			all = append(all, j)
		}
	}
	slices.SortFunc(all, func(a, b *recordingJob) int { return cmp.Compare(a.seq, b.seq) })
	out := recordingJobListing{Entities: []genesys.RecordingJob{}, PageSize: size, PageNumber: number, Total: len(all),
		PageCount: (len(all) + size - 1) / size}
	for _, j := range all[min((number-1)*size, len(all)):min(number*size, len(all))] {
		out.Entities = append(out.Entities, j.job)
	}
	s.mu.Unlock()
	page := func(n int) string {
		return fmt.Sprintf("/api/v2/recording/jobs?pageSize=%d&pageNumber=%d", size, n)
	}
	out.SelfURI, out.FirstURI, out.LastURI = page(number), page(1), page(max(out.PageCount, 1))
	if number < out.PageCount {
		out.NextURI = page(number + 1)
	}
	if number > 1 {
		out.PreviousURI = page(number - 1)
	}
	w.json(http.StatusOK, out)
}
