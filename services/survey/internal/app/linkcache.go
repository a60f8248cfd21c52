package app

import (
	"context"
	"sync"
	"time"

	"poet.local/services/survey/internal/domain"
)

// linkCacheTTL and linkCacheSize bound the open-link campaign cache. A
// campaign does not change once created (no use case updates one), so the
// cache can only be stale about a campaign that no longer exists, and for
// at most a minute.
const (
	linkCacheTTL  = time.Minute
	linkCacheSize = 10_000
)

// linkCache keeps campaigns by open-link token, so the busiest path (a
// respondent submitting) skips one query per response.
type linkCache struct {
	mu sync.Mutex
	m  map[string]cachedCampaign
}

type cachedCampaign struct {
	c  domain.Campaign
	at time.Time
}

func (s *Service) campaignByLink(tx Tx, token string) (domain.Campaign, error) {
	now := time.Now()
	s.links.mu.Lock()
	e, ok := s.links.m[token]
	s.links.mu.Unlock()
	if ok && now.Sub(e.at) < linkCacheTTL {
		return e.c, nil
	}
	c, err := tx.CampaignByLinkToken(token)
	if err != nil {
		return c, err
	}
	s.links.mu.Lock()
	if s.links.m == nil || len(s.links.m) >= linkCacheSize {
		s.links.m = make(map[string]cachedCampaign) // simplest bound: start afresh
	}
	s.links.m[token] = cachedCampaign{c: c, at: now}
	s.links.mu.Unlock()
	return c, nil
}

// Link statuses for a front end: whether a link takes answers now.
const (
	LinkOpen       = "open"
	LinkNotYetOpen = "not-yet-open"
	LinkClosed     = "closed"
)

// OpenLink says which campaign an open link belongs to and whether it takes
// answers now, so the web front end can draw the right questions.
func (s *Service) OpenLink(ctx context.Context, token string) (domain.Campaign, string, error) {
	var c domain.Campaign
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		c, err = s.campaignByLink(tx, token)
		return err
	})
	if err != nil {
		return c, "", err
	}
	now := s.now().UTC()
	switch {
	case now.Before(c.OpensAt):
		return c, LinkNotYetOpen, nil
	case !c.AcceptsAt(now):
		return c, LinkClosed, nil
	}
	return c, LinkOpen, nil
}
