package domain

// SiteReport is the part of reporting's site report (GET
// /v1/sites/{site_id}/report) the staff pages show. Counts are nil when
// reporting withheld them (fewer than Threshold people).
type SiteReport struct {
	SiteID            string      `json:"site_id"`
	OrganisationID    string      `json:"organisation_id"`
	Period            *string     `json:"period"`
	Threshold         int         `json:"threshold"`
	Returns           *int        `json:"returns"`
	ReturnsSuppressed bool        `json:"returns_suppressed"`
	Domains           []DomainRow `json:"domains"`
}

// DomainRow is one outcome domain's counts and shares.
type DomainRow struct {
	Domain        string    `json:"domain"`
	Answered      *int      `json:"answered"`
	ALotBetter    *int      `json:"a_lot_better"`
	Better        *int      `json:"better"`
	Same          *int      `json:"same"`
	Worse         *int      `json:"worse"`
	ALotWorse     *int      `json:"a_lot_worse"`
	DontKnow      *int      `json:"dont_know"`
	NotApplicable *int      `json:"not_applicable"`
	ShareBetter   *float64  `json:"share_better"`
	ShareWorse    *float64  `json:"share_worse"`
	ShareBetterCI *Interval `json:"share_better_ci"`
	Suppressed    []string  `json:"suppressed"`
}

// Interval is a confidence interval of a proportion.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Bars turns the report's domains into the share-better chart's bars.
func (r SiteReport) Bars() []ShareBar {
	out := make([]ShareBar, 0, len(r.Domains))
	for _, d := range r.Domains {
		b := ShareBar{Label: DomainLabel(d.Domain), Share: d.ShareBetter}
		if d.ShareBetter != nil && d.ShareBetterCI != nil {
			lo, hi := d.ShareBetterCI.Low, d.ShareBetterCI.High
			b.Low, b.High = &lo, &hi
		}
		if d.ShareBetter == nil && len(d.Suppressed) == 0 {
			b.Note = "No ratings yet"
		}
		out = append(out, b)
	}
	return out
}

// Organisation is one organisation staff can sign in through: from the
// issuer registry (AUTH_ISSUERS), named from identity when known.
type Organisation struct {
	ID, Name, Issuer string
	Sites            []Site
}

// Site is one of an organisation's sites.
type Site struct{ ID, Name string }
