package http

import (
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"poet.local/libs/authn"
	"poet.local/libs/platform/problem"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	"poet.local/services/reporting/internal/http/api"
)

var subjectRefPattern = regexp.MustCompile(`^sub_[0-9A-Za-z_-]{32}$`)

// GetJourney is one consenting person's journey, for their transition team.
func (h *Handlers) GetJourney(c *gin.Context, params api.GetJourneyParams) {
	who, ok := caller(c, authn.RoleTransition)
	if !ok {
		return
	}
	if !subjectRefPattern.MatchString(params.SubjectRef) {
		problem.Write(c, problem.New(http.StatusBadRequest, "subject_ref must be a subject reference (sub_…) from identity"))
		return
	}
	j, err := h.app.Journey(c.Request.Context(), who, params.SubjectRef)
	switch {
	case errors.Is(err, app.ErrNoTransitionConsent):
		problem.Write(c, problem.New(http.StatusForbidden, "no transition-sharing consent: this person has not agreed to their journey being shared"))
		return
	case errors.Is(err, domain.ErrNotFound):
		problem.Write(c, problem.New(http.StatusNotFound, "No journey: the subject is not linked to a person, or your organisation has no survey of them"))
		return
	case errors.Is(err, app.ErrJourneysUnavailable):
		problem.Write(c, problem.New(http.StatusServiceUnavailable, "Journeys are not available: reporting has no credentials for identity"))
		return
	case err != nil:
		_ = c.Error(err)
		problem.Write(c, problem.New(http.StatusBadGateway, "The person key could not be looked up; try again shortly"))
		return
	}
	out := api.Journey{SubjectRef: j.SubjectRef, Entries: make([]api.JourneyEntry, len(j.Entries))}
	for i, e := range j.Entries {
		ds := make([]api.JourneyDomain, len(e.Domains))
		for k, d := range e.Domains {
			ds[k] = api.JourneyDomain{Domain: d.Domain, Outcome: d.Outcome}
		}
		out.Entries[i] = api.JourneyEntry{SubmittedAt: openapi_types.Date{Time: dateOnly(e.SubmittedAt)},
			ServiceLine: api.JourneyEntryServiceLine(e.ServiceLine), InstrumentId: e.InstrumentID, SiteId: e.SiteID, AgeBand: e.AgeBand, Domains: ds}
	}
	c.JSON(http.StatusOK, out)
}

// GetCohortTransitions is the national table of people moving between
// service lines, protected and rounded.
func (h *Handlers) GetCohortTransitions(c *gin.Context) {
	if _, ok := caller(c, authn.RoleNational); !ok {
		return
	}
	t, err := h.app.CohortTransitions(c.Request.Context())
	if err != nil {
		internal(c, err)
		return
	}
	out := api.CohortTransitions{Threshold: t.Threshold, Rounding: t.Rounding, Transitions: make([]api.CohortTransition, len(t.Rows))}
	for i, r := range t.Rows {
		bands := make([]api.CohortAgeBand, len(r.ByAgeBand))
		for k, b := range r.ByAgeBand {
			bands[k] = api.CohortAgeBand{AgeBand: b.AgeBand, People: b.People.Shown(), Suppressed: b.People.Suppressed}
		}
		out.Transitions[i] = api.CohortTransition{FromServiceLine: r.From, ToServiceLine: r.To, People: r.People.Shown(),
			Suppressed: r.People.Suppressed, ByAgeBand: bands}
	}
	c.JSON(http.StatusOK, out)
}

// dateOnly is the UTC day of t: a journey shows when, not the exact moment.
func dateOnly(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
