package exporttest

import (
	"context"
	"io"
	"time"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// RemoteSource is a folder read as if each file were a GET away: Open
// waits a little, and the source asks for 12 reads in flight
// (exportfile.ParallelSource, as S3 does). Open records the most files
// it had opening at once.
type RemoteSource struct {
	*exportfile.DirSource
	Opening benchutil.InFlight
}

// Parallelism implements exportfile.ParallelSource.
func (s *RemoteSource) Parallelism() int { return 12 }

// Open opens e after a pause of 3 ms.
func (s *RemoteSource) Open(ctx context.Context, e exportfile.Entry) (io.ReadCloser, error) {
	defer s.Opening.Enter()()
	time.Sleep(3 * time.Millisecond)
	return s.DirSource.Open(ctx, e)
}
