package apispecs

// Kafka topics, named poet.<service>.<stream>. Each has a dead-letter twin
// "<topic>.dlq" created alongside it.
const (
	TopicSurveyResponses       = "poet.survey.responses"
	TopicConsentDecisions      = "poet.consent.decisions"
	TopicIdentityOrganisations = "poet.identity.organisations" // compacted by organisation id
	TopicIdentityLinks         = "poet.identity.links"
	TopicScoringScores         = "poet.scoring.scores"
)

// CloudEvents types: org.poet.<service>.<event>.v<N>.
const (
	TypeResponseSubmitted      = "org.poet.survey.response-submitted.v1"
	TypeResponseWithdrawn      = "org.poet.survey.response-withdrawn.v1"
	TypeConsentRecorded        = "org.poet.consent.consent-recorded.v1"
	TypeConsentWithdrawn       = "org.poet.consent.consent-withdrawn.v1"
	TypeErasureRequested       = "org.poet.consent.erasure-requested.v1"
	TypeOrganisationRegistered = "org.poet.identity.organisation-registered.v1"
	TypeSubjectLinked          = "org.poet.identity.subject-linked.v1"
	TypeSubjectUnlinked        = "org.poet.identity.subject-unlinked.v1"
	TypeSubjectErased          = "org.poet.identity.subject-erased.v1"
	TypeResponseScored         = "org.poet.scoring.response-scored.v1"
	TypeScoreWithdrawn         = "org.poet.scoring.score-withdrawn.v1"
)

// Topic describes one topic for creation.
type Topic struct {
	Name       string
	Partitions int
	Compacted  bool
}

// Topics lists every topic the platform uses.
func Topics() []Topic {
	return []Topic{
		{Name: TopicSurveyResponses, Partitions: 6},
		{Name: TopicConsentDecisions, Partitions: 6},
		{Name: TopicIdentityOrganisations, Partitions: 1, Compacted: true},
		{Name: TopicIdentityLinks, Partitions: 6},
		{Name: TopicScoringScores, Partitions: 6},
	}
}
