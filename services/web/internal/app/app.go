// Package app holds the web front end's use cases: the platform status page
// (Service) and the respondent journey (Respondent) over the survey
// service's respondent API (the Survey port). The front end keeps no store of
// its own: survey holds every answer once it is sent.
package app

import (
	"context"
	"sync"

	"poet.local/services/web/internal/domain"
)

// Prober asks one part whether it is ready.
type Prober interface {
	Ready(ctx context.Context, p domain.Part) (bool, string)
}

// Service is the front end's application.
type Service struct {
	parts  []domain.Part
	prober Prober
}

// New returns the application over the parts it shows.
func New(parts []domain.Part, prober Prober) *Service { return &Service{parts: parts, prober: prober} }

// Status probes every part concurrently, keeping the configured order.
func (s *Service) Status(ctx context.Context) []domain.PartStatus {
	out := make([]domain.PartStatus, len(s.parts))
	var wg sync.WaitGroup
	for i, p := range s.parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, detail := s.prober.Ready(ctx, p)
			out[i] = domain.PartStatus{Part: p, Ready: ok, Detail: detail}
		}()
	}
	wg.Wait()
	return out
}
