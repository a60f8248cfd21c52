// Package fhir maps consent records to FHIR R4 Consent resources, so a
// record can leave POET in the form health and care systems exchange. It
// writes only what POET knows: the subject appears as its pseudonymous
// reference (an identifier, never a name or number), the person who gave
// consent by their role, the policy by a versioned URI, and each scope as a
// provision with its purpose code. The append-only history travels as
// meta.versionId (one version per change) and one extension per change, a
// Provenance-like trail a receiver can read without POET's API. It does no
// I/O.
package fhir

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"poet.local/services/consent/internal/domain"
)

// Systems and extension URLs POET uses in exported resources.
const (
	SystemSubjectRef   = "https://poet.local/fhir/subject-ref"
	SystemOrganisation = "https://poet.local/fhir/organisation-id"
	SystemConsentID    = "https://poet.local/fhir/consent-id"
	SystemScope        = "https://poet.local/fhir/CodeSystem/consent-scope"
	SystemConsentScope = "http://terminology.hl7.org/CodeSystem/consentscope"
	SystemLOINC        = "http://loinc.org"
	PolicyBase         = "https://poet.local/fhir/consent-policy/"
	ExtMethod          = "https://poet.local/fhir/StructureDefinition/consent-method"
	ExtChange          = "https://poet.local/fhir/StructureDefinition/consent-change"
	ExtGivenBy         = "https://poet.local/fhir/StructureDefinition/consent-given-by"
)

// Consent is the subset of the FHIR R4 Consent resource POET writes.
type Consent struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Meta         Meta              `json:"meta"`
	Extension    []Extension       `json:"extension,omitempty"`
	Identifier   []Identifier      `json:"identifier"`
	Status       string            `json:"status"`
	Scope        CodeableConcept   `json:"scope"`
	Category     []CodeableConcept `json:"category"`
	Patient      Reference         `json:"patient"`
	DateTime     string            `json:"dateTime"`
	Performer    []Reference       `json:"performer"`
	Organization []Reference       `json:"organization"`
	Policy       []Policy          `json:"policy"`
	Provision    Provision         `json:"provision"`
}

// Meta carries the version: one per change in the history.
type Meta struct {
	VersionID   string `json:"versionId"`
	LastUpdated string `json:"lastUpdated"`
}

// Coding is a code in a system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a set of codings.
type CodeableConcept struct {
	Coding []Coding `json:"coding"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a value in a namespace.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Reference points at a resource by type and identifier, or describes it.
type Reference struct {
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Policy names the policy the person was shown.
type Policy struct {
	URI string `json:"uri"`
}

// Period is a time range; an open end is left out.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Provision is a rule: permit or deny, for purposes, in a period.
type Provision struct {
	Type      string      `json:"type"`
	Period    *Period     `json:"period,omitempty"`
	Purpose   []Coding    `json:"purpose,omitempty"`
	Provision []Provision `json:"provision,omitempty"`
}

// Extension is a FHIR extension: nested extensions or one value.
type Extension struct {
	URL           string      `json:"url"`
	Extension     []Extension `json:"extension,omitempty"`
	ValueCode     string      `json:"valueCode,omitempty"`
	ValueString   string      `json:"valueString,omitempty"`
	ValueDateTime string      `json:"valueDateTime,omitempty"`
	ValueInteger  *int        `json:"valueInteger,omitempty"`
}

var scopeDisplay = map[domain.Scope]string{
	domain.ScopeParticipation:        "Take part in the survey",
	domain.ScopeLocalReporting:       "Answers counted in the organisation's own reports",
	domain.ScopeNationalBenchmarking: "Answers counted in national benchmarks",
	domain.ScopeCrossServiceLinkage:  "Link answers across children's, adult and health services",
	domain.ScopeTransitionSharing:    "Share the journey with the transition team",
}

// ToConsent maps c, with its full history, to a FHIR R4 Consent. Status is
// active while any scope is in force and inactive once all are withdrawn.
// The provision permits each scope in force for its purpose (until the
// lapse, for a parent's consent to linkage or transition sharing) and
// denies each withdrawn one from when it was withdrawn.
func ToConsent(c domain.Consent) Consent {
	status := "active"
	if c.Status != domain.StatusActive {
		status = "inactive"
	}
	ref := &Identifier{System: SystemSubjectRef, Value: c.SubjectRef}
	out := Consent{
		ResourceType: "Consent",
		// FHIR ids allow no "_"; the identifier keeps POET's id as it is.
		ID:         strings.ReplaceAll(c.ID, "_", "-"),
		Identifier: []Identifier{{System: SystemConsentID, Value: c.ID}},
		Meta:       Meta{VersionID: strconv.Itoa(max(len(c.History), 1)), LastUpdated: instant(c.UpdatedAt)},
		Status:     status,
		Scope: CodeableConcept{Coding: []Coding{{System: SystemConsentScope, Code: "patient-privacy", Display: "Privacy Consent"}},
			Text: "Use of survey answers about the person"},
		Category:     []CodeableConcept{{Coding: []Coding{{System: SystemLOINC, Code: "59284-0", Display: "Patient Consent"}}}},
		Patient:      Reference{Type: "Patient", Identifier: ref},
		DateTime:     instant(c.EffectiveAt),
		Performer:    []Reference{performer(c.GivenBy, ref)},
		Organization: []Reference{{Type: "Organization", Identifier: &Identifier{System: SystemOrganisation, Value: c.OrganisationID}}},
		Policy:       []Policy{{URI: PolicyBase + url.PathEscape(c.PolicyVersion)}},
		Provision:    Provision{Type: "permit", Period: &Period{Start: instant(c.EffectiveAt)}},
	}
	out.Extension = append(out.Extension,
		Extension{URL: ExtMethod, ValueCode: string(c.Method)},
		Extension{URL: ExtGivenBy, ValueCode: string(c.GivenBy)})
	for _, ch := range c.History {
		out.Extension = append(out.Extension, change(ch))
	}
	withdrawnAt := map[domain.Scope]time.Time{}
	for _, ch := range c.History {
		if ch.Action == domain.ActionWithdrawn {
			for _, s := range ch.Scopes {
				withdrawnAt[s] = ch.EffectiveAt
			}
		}
	}
	for _, s := range domain.AllScopes {
		purpose := []Coding{{System: SystemScope, Code: string(s), Display: scopeDisplay[s]}}
		switch at, withdrawn := withdrawnAt[s]; {
		case slices.Contains(c.Scopes, s):
			p := Provision{Type: "permit", Period: &Period{Start: instant(c.EffectiveAt)}, Purpose: purpose}
			if c.LapsesAt != nil && slices.Contains(domain.LapseScopes, s) {
				p.Period.End = instant(*c.LapsesAt)
			}
			out.Provision.Provision = append(out.Provision.Provision, p)
		case withdrawn:
			out.Provision.Provision = append(out.Provision.Provision, Provision{Type: "deny", Period: &Period{Start: instant(at)}, Purpose: purpose})
		}
	}
	return out
}

func performer(by domain.GivenBy, ref *Identifier) Reference {
	switch by {
	case domain.GivenBySelf:
		return Reference{Type: "Patient", Identifier: ref, Display: "The person themselves"}
	case domain.GivenByParentCarer:
		return Reference{Type: "RelatedPerson", Display: "Parent or carer"}
	default:
		return Reference{Type: "Practitioner", Display: "Practitioner on the person's behalf"}
	}
}

// change is one history entry as a complex extension.
func change(ch domain.Change) Extension {
	seq := ch.Sequence
	e := Extension{URL: ExtChange, Extension: []Extension{
		{URL: "sequence", ValueInteger: &seq},
		{URL: "action", ValueCode: string(ch.Action)},
	}}
	for _, s := range ch.Scopes {
		e.Extension = append(e.Extension, Extension{URL: "scope", ValueCode: string(s)})
	}
	e.Extension = append(e.Extension,
		Extension{URL: "status", ValueCode: string(ch.Status)},
		Extension{URL: "effective", ValueDateTime: instant(ch.EffectiveAt)},
		Extension{URL: "recorded", ValueDateTime: instant(ch.RecordedAt)})
	if ch.Reason != "" {
		e.Extension = append(e.Extension, Extension{URL: "reason", ValueString: ch.Reason})
	}
	return e
}

// instant formats t as a FHIR dateTime in UTC.
func instant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
