package app

import (
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
