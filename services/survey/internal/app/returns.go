package app

import (
	"context"
	"sort"

	"poet.local/services/survey/internal/domain"
)

// Returns is how many responses a campaign has had, by mode and by UTC day.
type Returns struct {
	CampaignID string
	Total      int64
	ByMode     map[string]int64 // every mode the campaign takes, zeros included
	ByDay      []DayReturns     // oldest first; days with none are left out
}

// DayReturns is one UTC day's returns.
type DayReturns struct {
	Day    string // YYYY-MM-DD
	Total  int64
	ByMode map[string]int64 // modes with returns that day
}

// Returns reads one of the caller's organisation's campaigns' returns from
// the rollup kept in each submission's transaction, so it costs the same
// with ten responses or a million.
func (s *Service) Returns(ctx context.Context, who Caller, campaignID string) (Returns, error) {
	var cells []ReturnCount
	var c domain.Campaign
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		if c, err = ownCampaign(tx, who, campaignID); err != nil {
			return err
		}
		cells, err = tx.ReturnCounts(c.ID)
		return err
	})
	if err != nil {
		return Returns{}, err
	}
	out := Returns{CampaignID: c.ID, ByMode: map[string]int64{}}
	modes := c.Modes
	if len(modes) == 0 {
		modes = domain.Modes
	}
	for _, m := range modes {
		out.ByMode[m] = 0
	}
	days := map[string]*DayReturns{}
	for _, cell := range cells {
		out.Total += cell.Count
		out.ByMode[cell.Mode] += cell.Count
		d := days[cell.Day]
		if d == nil {
			d = &DayReturns{Day: cell.Day, ByMode: map[string]int64{}}
			days[cell.Day] = d
		}
		d.Total += cell.Count
		d.ByMode[cell.Mode] += cell.Count
	}
	for _, d := range days {
		out.ByDay = append(out.ByDay, *d)
	}
	sort.Slice(out.ByDay, func(i, j int) bool { return out.ByDay[i].Day < out.ByDay[j].Day })
	return out, nil
}
