package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// Answer scales and group values, as in the event contract
// (api-specs/events/common.json and response-scored.v1.json).
var (
	OutcomeScale    = []string{OutcomeALotBetter, OutcomeBetter, OutcomeSame, OutcomeWorse, OutcomeALotWorse, OutcomeDontKnow, OutcomeNotApplicable}
	ProcessScale    = []string{"yes", "partly", "no", "dont-know"}
	Modes           = []string{"online", "paper", "telephone", "face-to-face", "embedded-review"}
	RespondentRoles = []string{"self", "parent-carer", "carer", "practitioner", "worker-on-behalf"}
	AgeBands        = []string{"0-4", "5-10", "11-13", "14-17", "18-25", "26-64", "65+"}
	BudgetHoldings  = []string{"direct-payment", "managed-by-council-or-nhs", "provider-or-broker-managed", "individual-service-fund", "mixed", "dont-know"}
)

// Outcome answers.
const (
	OutcomeALotBetter    = "a-lot-better"
	OutcomeBetter        = "better"
	OutcomeSame          = "same"
	OutcomeWorse         = "worse"
	OutcomeALotWorse     = "a-lot-worse"
	OutcomeDontKnow      = "dont-know"
	OutcomeNotApplicable = "not-applicable"
)

// maxPrimaryNeed bounds the free-standing primary need code (contract limit).
const maxPrimaryNeed = 60

// Response is a submitted response as scoring sees it.
type Response struct {
	ID                string
	OrganisationID    string
	SiteID            string
	ServiceLine       string
	InstrumentID      string
	InstrumentVersion string
	Mode              string
	RespondentRole    string // as survey recorded it; the fallback for the group
	SubjectRef        string // empty when anonymous
	SubmittedAt       time.Time
	Answers           map[string]any
}

// Groups are the breakdowns a scored response is counted under.
type Groups struct {
	Mode           string `json:"mode"`
	RespondentRole string `json:"respondent_role"`
	AgeBand        string `json:"age_band,omitempty"`
	PrimaryNeed    string `json:"primary_need,omitempty"`
	BudgetHolding  string `json:"budget_holding,omitempty"`
}

// DomainOutcome is the answer to one outcome domain.
type DomainOutcome struct {
	Domain        string `json:"domain"`
	WellbeingArea string `json:"wellbeing_area"`
	Outcome       string `json:"outcome"`
}

// ProcessValue is the answer to one process indicator.
type ProcessValue struct {
	Indicator string `json:"indicator"`
	Value     string `json:"value"`
}

// Result is one response scored by one rule set. Its JSON form is the
// response-scored event payload without the person key.
type Result struct {
	ResponseID        string          `json:"response_id"`
	OrganisationID    string          `json:"organisation_id"`
	SiteID            string          `json:"site_id"`
	ServiceLine       string          `json:"service_line"`
	InstrumentID      string          `json:"instrument_id"`
	InstrumentVersion string          `json:"instrument_version"`
	RulesVersion      string          `json:"rules_version"`
	Period            string          `json:"period"`
	SubmittedAt       time.Time       `json:"submitted_at"`
	Groups            Groups          `json:"groups"`
	Domains           []DomainOutcome `json:"domains"`
	Process           []ProcessValue  `json:"process"`
	Measures          []MeasureValue  `json:"measures,omitempty"`
}

// AnswerError says which answer cannot be scored and why. Retrying cannot
// fix it: the response is malformed for its instrument.
type AnswerError struct {
	Question string
	Reason   string
}

func (e *AnswerError) Error() string {
	return fmt.Sprintf("answer to %q cannot be scored: %s", e.Question, e.Reason)
}

// ErrWrongRules: the rules score another instrument version than the response's.
var ErrWrongRules = errors.New("rules are for another instrument version")

// Score applies rules to a response. It is pure: the same rules and response
// always give the same result, which is what makes re-scoring by replay
// reproducible. Unanswered outcome and process questions are omitted; an
// answer outside its scale is an *AnswerError.
func Score(rules Rules, r Response) (Result, error) {
	if rules.InstrumentID != r.InstrumentID || rules.InstrumentVersion != r.InstrumentVersion {
		return Result{}, fmt.Errorf("%w: rules %s, response %s@%s", ErrWrongRules, rules.Key(), r.InstrumentID, r.InstrumentVersion)
	}
	if r.SubmittedAt.IsZero() {
		return Result{}, &AnswerError{Question: "submitted_at", Reason: "missing"}
	}
	if !slices.Contains(Modes, r.Mode) {
		return Result{}, &AnswerError{Question: "mode", Reason: "not a known mode of answering"}
	}
	groups := Groups{Mode: r.Mode, RespondentRole: r.RespondentRole}
	for _, name := range GroupNames { // fixed order: the same input always fails the same way
		q, mapped := rules.Groups[name]
		if !mapped {
			continue
		}
		v, ok, err := stringAnswer(r.Answers, q)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			continue
		}
		switch name {
		case GroupRespondentRole:
			if !slices.Contains(RespondentRoles, v) {
				return Result{}, &AnswerError{Question: q, Reason: "not a known respondent role"}
			}
			groups.RespondentRole = v
		case GroupAgeBand:
			if !slices.Contains(AgeBands, v) {
				return Result{}, &AnswerError{Question: q, Reason: "not a known age band"}
			}
			groups.AgeBand = v
		case GroupPrimaryNeed:
			if utf8.RuneCountInString(v) > maxPrimaryNeed {
				return Result{}, &AnswerError{Question: q, Reason: "longer than a need code can be"}
			}
			groups.PrimaryNeed = v
		case GroupBudgetHolding:
			if !slices.Contains(BudgetHoldings, v) {
				return Result{}, &AnswerError{Question: q, Reason: "not a known way of holding a budget"}
			}
			groups.BudgetHolding = v
		}
	}
	if !slices.Contains(RespondentRoles, groups.RespondentRole) {
		return Result{}, &AnswerError{Question: "respondent_role", Reason: "not a known respondent role"}
	}

	res := Result{
		ResponseID: r.ID, OrganisationID: r.OrganisationID, SiteID: r.SiteID, ServiceLine: r.ServiceLine,
		InstrumentID: r.InstrumentID, InstrumentVersion: r.InstrumentVersion, RulesVersion: rules.RulesVersion,
		Period: PeriodOf(r.SubmittedAt), SubmittedAt: r.SubmittedAt.UTC(), Groups: groups,
		Domains: []DomainOutcome{}, Process: []ProcessValue{},
	}
	for _, o := range rules.Outcomes {
		v, ok, err := stringAnswer(r.Answers, o.Question)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			continue
		}
		if !slices.Contains(OutcomeScale, v) {
			return Result{}, &AnswerError{Question: o.Question, Reason: "not on the outcome scale"}
		}
		res.Domains = append(res.Domains, DomainOutcome{Domain: o.Domain, WellbeingArea: o.WellbeingArea, Outcome: v})
	}
	for _, p := range rules.Process {
		v, ok, err := stringAnswer(r.Answers, p.Question)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			continue
		}
		if !slices.Contains(ProcessScale, v) {
			return Result{}, &AnswerError{Question: p.Question, Reason: "not on the process scale"}
		}
		res.Process = append(res.Process, ProcessValue{Indicator: p.Indicator, Value: v})
	}
	measures, err := scoreMeasures(rules.Measures, r.Answers)
	if err != nil {
		return Result{}, err
	}
	res.Measures = measures
	return res, nil
}

// stringAnswer returns the answer to q; ok is false when it was not answered
// (absent, null or empty).
func stringAnswer(answers map[string]any, q string) (v string, ok bool, err error) {
	raw, present := answers[q]
	if !present || raw == nil {
		return "", false, nil
	}
	s, isString := raw.(string)
	if !isString {
		return "", false, &AnswerError{Question: q, Reason: "expected a single choice"}
	}
	return s, s != "", nil
}

// PeriodOf is the reporting period of a submission: the calendar quarter of
// t in UTC, "2026-Q4" for October to December 2026. Calendar quarters, not
// the April-to-March financial year, so that periods mean the same thing for
// councils, the NHS and schools.
func PeriodOf(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
}
