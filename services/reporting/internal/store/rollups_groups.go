package store

import (
	"cmp"
	"encoding/json"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"poet.local/services/reporting/internal/domain"
)

// Breakdown rollups (groups, process × outcome pairs), the bulk writes the
// replay path uses, and the reads of the full site report, the benchmark,
// the associations and the national report. Reads touch rollups only.

// batchRows bounds the rows of one multi-row INSERT (PostgreSQL allows
// 65,535 parameters a statement; 8 columns × 1,000 rows is well inside).
const batchRows = 1000

type breakdowns struct {
	Groups  domain.Groups         `json:"groups"`
	Process []domain.ProcessValue `json:"process,omitempty"`
}

func encodeBreakdowns(c domain.Contribution) []byte {
	b, _ := json.Marshal(breakdowns{Groups: c.Groups, Process: c.Process}) // plain structs: cannot fail
	return b
}

func encodeDomains(ds []domain.DomainOutcome) (string, error) {
	b, err := json.Marshal(ds)
	return string(b), err
}

func decodeBreakdowns(raw []byte, c *domain.Contribution) error {
	if len(raw) == 0 {
		return nil // counted before breakdowns existed
	}
	var b breakdowns
	if err := json.Unmarshal(raw, &b); err != nil {
		return err
	}
	c.Groups, c.Process = b.Groups, b.Process
	return nil
}

type groupOutcomeRow struct {
	SiteID, Period, InstrumentID string
	Grp, Value, Domain, Outcome  string
	Count                        int64
}

func (groupOutcomeRow) TableName() string { return "rollup_group_outcomes" }

type pairRow struct {
	SiteID, Period, InstrumentID      string
	Indicator, Value, Domain, Outcome string
	Count                             int64
}

func (pairRow) TableName() string { return "rollup_process_outcomes" }

// AddBreakdowns applies the group and pair parts of d.
func (t *txn) AddBreakdowns(d *domain.Deltas) error {
	return t.applyBreakdowns(d)
}

// ApplyDeltas applies every rollup change of d, one multi-row upsert per
// table and batch, in key order (so concurrent writers lock rows in the
// same order and cannot deadlock).
func (t *txn) ApplyDeltas(d *domain.Deltas) error {
	returns := make([]returnsRow, 0, len(d.Returns))
	for k, n := range d.Returns {
		if n != 0 {
			returns = append(returns, returnsRow{SiteID: k.SiteID, Period: k.Period, InstrumentID: k.InstrumentID,
				OrganisationID: k.OrganisationID, ServiceLine: k.ServiceLine, Returns: int64(n)})
		}
	}
	slices.SortFunc(returns, func(a, b returnsRow) int {
		return cmp.Or(cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.Period, b.Period), cmp.Compare(a.InstrumentID, b.InstrumentID))
	})
	outcomes := make([]outcomeRow, 0, len(d.Outcomes))
	for k, n := range d.Outcomes {
		if n != 0 {
			outcomes = append(outcomes, outcomeRow{SiteID: k.SiteID, Period: k.Period, InstrumentID: k.InstrumentID, Domain: k.Domain, Outcome: k.Outcome, Count: int64(n)})
		}
	}
	slices.SortFunc(outcomes, func(a, b outcomeRow) int {
		return cmp.Or(cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.Period, b.Period), cmp.Compare(a.InstrumentID, b.InstrumentID),
			cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Outcome, b.Outcome))
	})
	if t.postgres() {
		cols := [][]string{make([]string, len(returns)), make([]string, len(returns)), make([]string, len(returns)), make([]string, len(returns)), make([]string, len(returns))}
		counts := make([]int64, len(returns))
		for i, r := range returns {
			cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i], counts[i] = r.SiteID, r.Period, r.InstrumentID, r.OrganisationID, r.ServiceLine, r.Returns
		}
		if err := t.pgAdd("rollup_returns", []string{"site_id", "period", "instrument_id", "organisation_id", "service_line"}, 3, "returns", cols, counts); err != nil {
			return err
		}
		cols = [][]string{make([]string, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes))}
		counts = make([]int64, len(outcomes))
		for i, r := range outcomes {
			cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i], counts[i] = r.SiteID, r.Period, r.InstrumentID, r.Domain, r.Outcome, r.Count
		}
		if err := t.pgAdd("rollup_outcomes", []string{"site_id", "period", "instrument_id", "domain", "outcome"}, 5, "count", cols, counts); err != nil {
			return err
		}
	} else {
		if err := upsert(t.db, returns, []string{"site_id", "period", "instrument_id"}, "returns"); err != nil {
			return err
		}
		if err := upsert(t.db, outcomes, []string{"site_id", "period", "instrument_id", "domain", "outcome"}, "count"); err != nil {
			return err
		}
	}
	return t.applyBreakdowns(d)
}

// cell is a group or pair rollup cell: seven key parts and a count.
type cell struct {
	key [7]string
	n   int64
}

func sortedCells(each func(func([7]string, int))) []cell {
	var out []cell
	each(func(k [7]string, n int) {
		if n != 0 {
			out = append(out, cell{k, int64(n)})
		}
	})
	slices.SortFunc(out, func(a, b cell) int {
		for i := range a.key {
			if c := cmp.Compare(a.key[i], b.key[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return out
}

func (t *txn) applyBreakdowns(d *domain.Deltas) error {
	groups := sortedCells(func(f func([7]string, int)) {
		d.EachGroup(func(k domain.GroupOutcomeKey, n int) {
			f([7]string{k.SiteID, k.Period, k.InstrumentID, k.Group, k.Value, k.Domain, k.Outcome}, n)
		})
	})
	pairs := sortedCells(func(f func([7]string, int)) {
		d.EachPair(func(k domain.PairKey, n int) {
			f([7]string{k.SiteID, k.Period, k.InstrumentID, k.Indicator, k.Value, k.Domain, k.Outcome}, n)
		})
	})
	xpairs := sortedCells(func(f func([7]string, int)) {
		d.EachExcludedPair(func(k domain.PairKey, n int) {
			f([7]string{k.SiteID, k.Period, k.InstrumentID, k.Indicator, k.Value, k.Domain, k.Outcome}, n)
		})
	})
	groupCols := []string{"site_id", "period", "instrument_id", "grp", "value", "domain", "outcome"}
	pairCols := []string{"site_id", "period", "instrument_id", "indicator", "value", "domain", "outcome"}
	if t.postgres() {
		for _, x := range []struct {
			table string
			cols  []string
			cells []cell
		}{{"rollup_group_outcomes", groupCols, groups}, {"rollup_process_outcomes", pairCols, pairs},
			{"rollup_national_excluded_process_outcomes", pairCols, xpairs}} {
			cols := make([][]string, 7)
			for i := range cols {
				cols[i] = make([]string, len(x.cells))
			}
			counts := make([]int64, len(x.cells))
			for j, c := range x.cells {
				for i := range cols {
					cols[i][j] = c.key[i]
				}
				counts[j] = c.n
			}
			if err := t.pgAdd(x.table, x.cols, 7, "count", cols, counts); err != nil {
				return err
			}
		}
		return nil
	}
	groupRows := make([]groupOutcomeRow, len(groups))
	for i, c := range groups {
		k := c.key
		groupRows[i] = groupOutcomeRow{SiteID: k[0], Period: k[1], InstrumentID: k[2], Grp: k[3], Value: k[4], Domain: k[5], Outcome: k[6], Count: c.n}
	}
	if err := upsert(t.db, groupRows, groupCols, "count"); err != nil {
		return err
	}
	toPairs := func(cells []cell) []pairRow {
		out := make([]pairRow, len(cells))
		for i, c := range cells {
			k := c.key
			out[i] = pairRow{SiteID: k[0], Period: k[1], InstrumentID: k[2], Indicator: k[3], Value: k[4], Domain: k[5], Outcome: k[6], Count: c.n}
		}
		return out
	}
	if err := upsert(t.db, toPairs(pairs), pairCols, "count"); err != nil {
		return err
	}
	excluded := toPairs(xpairs)
	if len(excluded) == 0 {
		return nil
	}
	return t.db.Table("rollup_national_excluded_process_outcomes").Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "site_id"}, {Name: "period"}, {Name: "instrument_id"}, {Name: "indicator"}, {Name: "value"}, {Name: "domain"}, {Name: "outcome"}},
		DoUpdates: clause.Assignments(map[string]any{"count": gorm.Expr("rollup_national_excluded_process_outcomes.count + excluded.count")}),
	}).CreateInBatches(excluded, batchRows).Error
}

// upsert inserts rows, adding the counter column onto rows that exist.
func upsert[T interface{ TableName() string }](db *gorm.DB, rows []T, key []string, counter string) error {
	if len(rows) == 0 {
		return nil
	}
	cols := make([]clause.Column, len(key))
	for i, k := range key {
		cols[i] = clause.Column{Name: k}
	}
	table := rows[0].TableName()
	return db.Clauses(clause.OnConflict{
		Columns:   cols,
		DoUpdates: clause.Assignments(map[string]any{counter: gorm.Expr(table + "." + counter + " + excluded." + counter)}),
	}).CreateInBatches(rows, batchRows).Error
}

// ContributionsByID returns the counted contributions among ids.
func (t *txn) ContributionsByID(ids []string) (map[string]domain.Contribution, error) {
	out := map[string]domain.Contribution{}
	for start := 0; start < len(ids); start += batchRows {
		chunk := ids[start:min(start+batchRows, len(ids))]
		var rows []contributionRow
		if err := t.db.Where("response_id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			c := domain.Contribution{ResponseID: r.ResponseID, OrganisationID: r.OrganisationID, SiteID: r.SiteID, ServiceLine: r.ServiceLine,
				InstrumentID: r.InstrumentID, InstrumentVersion: r.InstrumentVersion, RulesVersion: r.RulesVersion, Period: r.Period,
				SubmittedAt: r.SubmittedAt.UTC(), CountedAt: r.CountedAt.UTC(), ExcludedNationally: r.NationalExcluded}
			if r.PersonKey != nil {
				c.PersonKey = *r.PersonKey
			}
			if err := json.Unmarshal(r.Domains, &c.Domains); err != nil {
				return nil, err
			}
			if err := decodeBreakdowns(r.Breakdowns, &c); err != nil {
				return nil, err
			}
			out[c.ResponseID] = c
		}
	}
	return out, nil
}

// SaveContributions upserts many contributions at once.
func (t *txn) SaveContributions(cs []domain.Contribution) error {
	if t.postgres() {
		return t.pgSaveContributions(cs)
	}
	rows := make([]contributionRow, len(cs))
	for i, c := range cs {
		domains, err := json.Marshal(c.Domains)
		if err != nil {
			return err
		}
		rows[i] = contributionRow{ResponseID: c.ResponseID, OrganisationID: c.OrganisationID, SiteID: c.SiteID, ServiceLine: c.ServiceLine,
			InstrumentID: c.InstrumentID, InstrumentVersion: c.InstrumentVersion, RulesVersion: c.RulesVersion, Period: c.Period,
			Domains: domains, Breakdowns: encodeBreakdowns(c), SubmittedAt: c.SubmittedAt.UTC(), CountedAt: c.CountedAt.UTC(),
			NationalExcluded: c.ExcludedNationally}
		if c.PersonKey != "" {
			pk := c.PersonKey
			rows[i].PersonKey = &pk
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return t.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "response_id"}}, UpdateAll: true}).CreateInBatches(rows, batchRows/2).Error
}

// SiteReturnsByPeriod is a site's returns per period.
func (t *txn) SiteReturnsByPeriod(siteID string) (map[string]int, error) {
	var rows []struct {
		Period string
		N      int64
	}
	if err := t.db.Model(&returnsRow{}).Where("site_id = ?", siteID).Select("period, SUM(returns) AS n").Group("period").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range rows {
		if r.N != 0 {
			out[r.Period] = int(r.N)
		}
	}
	return out, nil
}

// SiteOutcomesByPeriod is a site's outcome counts per period and domain.
func (t *txn) SiteOutcomesByPeriod(siteID string) (map[string]map[string]domain.OutcomeCounts, error) {
	var rows []struct {
		Period, Domain, Outcome string
		N                       int64
	}
	if err := t.db.Model(&outcomeRow{}).Where("site_id = ?", siteID).
		Select("period, domain, outcome, SUM(count) AS n").Group("period, domain, outcome").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string]map[string]domain.OutcomeCounts{}
	for _, r := range rows {
		if r.N == 0 {
			continue
		}
		if out[r.Period] == nil {
			out[r.Period] = map[string]domain.OutcomeCounts{}
		}
		if out[r.Period][r.Domain] == nil {
			out[r.Period][r.Domain] = domain.OutcomeCounts{}
		}
		out[r.Period][r.Domain][r.Outcome] = int(r.N)
	}
	return out, nil
}

// SiteGroupOutcomes is a site's outcome counts by group and value, for one
// period or ("") all.
func (t *txn) SiteGroupOutcomes(siteID, period string) (map[string]map[string]map[string]domain.OutcomeCounts, error) {
	var rows []struct {
		Grp, Value, Domain, Outcome string
		N                           int64
	}
	q := t.db.Model(&groupOutcomeRow{}).Where("site_id = ?", siteID)
	if period != "" {
		q = q.Where("period = ?", period)
	}
	if err := q.Select("grp, value, domain, outcome, SUM(count) AS n").Group("grp, value, domain, outcome").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string]map[string]map[string]domain.OutcomeCounts{}
	for _, r := range rows {
		if r.N == 0 {
			continue
		}
		if out[r.Grp] == nil {
			out[r.Grp] = map[string]map[string]domain.OutcomeCounts{}
		}
		if out[r.Grp][r.Value] == nil {
			out[r.Grp][r.Value] = map[string]domain.OutcomeCounts{}
		}
		if out[r.Grp][r.Value][r.Domain] == nil {
			out[r.Grp][r.Value][r.Domain] = domain.OutcomeCounts{}
		}
		out[r.Grp][r.Value][r.Domain][r.Outcome] = int(r.N)
	}
	return out, nil
}

// OutcomesBySite is every site's outcome counts per domain, for one period
// or ("") all.
func (t *txn) OutcomesBySite(period string) (map[string]map[string]domain.OutcomeCounts, error) {
	var rows []struct {
		SiteID, Domain, Outcome string
		N                       int64
	}
	// National figures: what nationally excluded contributions added is
	// subtracted (withdrawal.go).
	q := t.db.Table("rollup_outcomes AS r").Joins("LEFT JOIN rollup_national_excluded_outcomes AS x ON x.site_id = r.site_id AND " +
		"x.period = r.period AND x.instrument_id = r.instrument_id AND x.domain = r.domain AND x.outcome = r.outcome")
	if period != "" {
		q = q.Where("r.period = ?", period)
	}
	if err := q.Select("r.site_id AS site_id, r.domain AS domain, r.outcome AS outcome, SUM(r.count - COALESCE(x.count, 0)) AS n").
		Group("r.site_id, r.domain, r.outcome").Scan(&rows).Error; err != nil {
		return nil, err
	}
	sums := map[[3]string]int64{}
	for _, r := range rows {
		sums[[3]string{r.SiteID, r.Domain, r.Outcome}] += r.N
	}
	out := map[string]map[string]domain.OutcomeCounts{}
	for k, n := range sums {
		r := struct {
			SiteID, Domain, Outcome string
			N                       int64
		}{k[0], k[1], k[2], n}
		if r.N == 0 {
			continue
		}
		if out[r.SiteID] == nil {
			out[r.SiteID] = map[string]domain.OutcomeCounts{}
		}
		if out[r.SiteID][r.Domain] == nil {
			out[r.SiteID][r.Domain] = domain.OutcomeCounts{}
		}
		out[r.SiteID][r.Domain][r.Outcome] = int(r.N)
	}
	return out, nil
}

// SiteAreas places every site that has returns: organisation, service line
// and region (UnknownRegion until identity registers the organisation).
func (t *txn) SiteAreas() (map[string]domain.SiteArea, error) {
	var rows []domain.SiteArea
	err := t.db.Table("rollup_returns AS r").
		Joins("LEFT JOIN organisations AS o ON o.id = r.organisation_id").
		Select("DISTINCT r.site_id AS site_id, r.organisation_id AS organisation_id, r.service_line AS service_line, COALESCE(o.region, ?) AS region", UnknownRegion).
		Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]domain.SiteArea, len(rows))
	for _, r := range rows {
		out[r.SiteID] = r
	}
	return out, nil
}

// Pairs sums the process × outcome rollup for one site, or ("") for the
// nation less what contributions excluded from national figures added; for
// one period or ("") all.
func (t *txn) Pairs(siteID, period string) ([]domain.PairCount, error) {
	sum := func(table string) ([]domain.PairCount, error) {
		var rows []domain.PairCount
		q := t.db.Table(table)
		if siteID != "" {
			q = q.Where("site_id = ?", siteID)
		}
		if period != "" {
			q = q.Where("period = ?", period)
		}
		err := q.Select("indicator, value, domain, outcome, SUM(count) AS n").Group("indicator, value, domain, outcome").Scan(&rows).Error
		return rows, err
	}
	rows, err := sum("rollup_process_outcomes")
	if err != nil || siteID != "" {
		return rows, err
	}
	excluded, err := sum("rollup_national_excluded_process_outcomes")
	if err != nil {
		return nil, err
	}
	for _, x := range excluded {
		x.N = -x.N
		rows = append(rows, x) // BuildAssociations sums the cells
	}
	return rows, nil
}
