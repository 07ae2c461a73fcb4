package surveyor

import (
	"context"
	"time"
)

// SetSleep replaces the wait between retries, so tests see the waits
// without spending them.
func (s *Syncer) SetSleep(f func(ctx context.Context, d time.Duration) error) { s.sleep = f }
