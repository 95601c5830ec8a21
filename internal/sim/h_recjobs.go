package sim

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

type recordingJob struct {
	job     genesys.RecordingJob
	created time.Time
	convIDs []string
	cancel  context.CancelFunc
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
	var body genesys.RecordingJobsQuery
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
	if body.ConversationQuery == nil {
		w.badRequest("conversationQuery is required")
		return
	}
	cq := body.ConversationQuery
	q, err := compileQuery(cq.Interval, cq.Order, cq.OrderBy, cq.SegmentFilters, cq.ConversationFilters)
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
	id := uuidOf(s.seed, tagJob, 2, s.recJobSeq)
	s.mu.Unlock()

	var ids []string
	s.scan(q, -1, func(i int) bool {
		if cq.Limit <= 0 || len(ids) < cq.Limit {
			ids = append(ids, s.Org.ConversationID(i))
			return true
		}
		return false
	})
	j := &recordingJob{created: now, convIDs: ids, job: genesys.RecordingJob{
		ID: id, State: genesys.RecJobPending, RecordingJobsQuery: &body, DateCreated: ts(now),
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
		err := s.runExport(ctx, j)
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
			j.job.State = genesys.RecJobFulfilled
			j.job.TotalProcessedRecordings = j.job.TotalRecordings
			j.job.PercentProgress = 100
		}
	}()
	w.json(http.StatusAccepted, out)
}

func (s *Server) runExport(ctx context.Context, j *recordingJob) error {
	if s.opts.RecordingExporter == nil {
		return fmt.Errorf("recording export: %w", ErrNoExporter)
	}
	total := len(j.convIDs)
	err := s.opts.RecordingExporter.RunExport(ctx, s.Org, j.convIDs, func(done int) {
		s.mu.Lock()
		j.job.TotalProcessedRecordings = min(max(done, 0), total)
		if total > 0 {
			j.job.PercentProgress = j.job.TotalProcessedRecordings * 100 / total
		}
		s.mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("recording export: %w", err)
	}
	return nil
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
