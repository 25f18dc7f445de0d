package billing

import "time"

// SetClock sets the clock s reads.
func SetClock(s *Service, now func() time.Time) { s.now = now }
