package app

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"poet.local/libs/platform/ids"
	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/domain/linkage"
	"poet.local/services/identity/internal/vault"
)

// The batch linkage job reconciles what the deterministic path links one
// subject at a time (on consent or registration) with the probabilistic
// engine's view of everyone eligible at once: it finds links the
// deterministic step cannot (no NHS number, a nickname, a move), splits
// clusters whose evidence is gone, and queues the uncertain band for review.

// LinkageInput is one eligible subject with its sealed identifiers.
type LinkageInput struct {
	Subject domain.Subject
	Sealed  vault.Sealed
}

// LinkageRun is one batch run and what it did. Runs whose input was the
// same as the last run's are skipped (Skipped) and not stored.
type LinkageRun struct {
	ID                    string
	StartedAt, FinishedAt time.Time
	// Fingerprint hashes the run's input (vault ciphertexts, persons and
	// operators' resolutions): never an identifier.
	Fingerprint string
	Subjects    int    // eligible subjects linked over
	Links       int    // link decisions
	Reviews     int    // review-band decisions
	Linked      int    // subjects announced subject-linked
	Unlinked    int    // subjects announced subject-unlinked
	TriggeredBy string // "schedule", or "operator:<organisation>/<subject>"
	Skipped     bool
}

// LinkageDecision is one recorded link or review decision of a run.
type LinkageDecision struct {
	RunID              string
	SubjectA, SubjectB string // SubjectA < SubjectB
	Rule, Band         string
	Weight             float64         // match weight in bits
	Explanation        json.RawMessage // linkage.Explanation: field outcomes and weights only
	DecidedAt          time.Time
}

// linkageEngineVersion is part of every fingerprint, so a changed engine
// or configuration links everyone again.
const linkageEngineVersion = "fellegi-sunter-1"

// Triggers of a run.
const TriggerSchedule = "schedule"

// RunLinkage runs the probabilistic engine over every eligible subject (not
// erased, cross-service-linkage consent in force) and applies the result in
// one transaction: each subject whose person changes is announced
// subject-linked with the new person key, each whose cluster split away is
// announced subject-unlinked, review-band pairs join the review queue with
// field-by-field explanations, and every link and review decision is
// recorded. Identifiers are decrypted in memory only. Unless force, a run
// whose input equals the last run's result does nothing (Skipped).
func (s *Service) RunLinkage(ctx context.Context, triggeredBy string, force bool) (LinkageRun, error) {
	if !s.keys.complete() {
		return LinkageRun{}, ErrNoKeys
	}
	var out LinkageRun
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		out, err = s.runLinkage(tx, triggeredBy, force)
		return err
	})
	if err != nil {
		return LinkageRun{}, err
	}
	if !out.Skipped {
		s.log.InfoContext(ctx, "linkage run", "run_id", out.ID, "subjects", out.Subjects, "links", out.Links,
			"reviews", out.Reviews, "linked", out.Linked, "unlinked", out.Unlinked, "triggered_by", out.TriggeredBy)
	}
	return out, nil
}

// RunLinkageBy is RunLinkage on an operator's demand (always runs), audited.
func (s *Service) RunLinkageBy(ctx context.Context, who Caller) (LinkageRun, error) {
	run, err := s.RunLinkage(ctx, "operator:"+who.Organisation+"/"+who.Subject, true)
	if err != nil {
		return run, err
	}
	err = s.store.Do(ctx, func(tx Tx) error {
		return tx.Audit(s.audit(who, ActionLinkageRun, "", "operations", OutcomeDone+": "+run.ID))
	})
	return run, err
}

func (s *Service) runLinkage(tx Tx, triggeredBy string, force bool) (LinkageRun, error) {
	if err := tx.LockLinkage(); err != nil {
		return LinkageRun{}, err
	}
	started := s.timestamp()
	inputs, err := tx.LinkageInputs(domain.ScopeCrossServiceLinkage, started)
	if err != nil {
		return LinkageRun{}, err
	}
	slices.SortFunc(inputs, func(a, b LinkageInput) int { return strings.Compare(a.Subject.Ref, b.Subject.Ref) })
	decided, err := s.decidedReviews(tx)
	if err != nil {
		return LinkageRun{}, err
	}
	if !force {
		last, err := tx.LastLinkageRun()
		switch {
		case err == nil && last.Fingerprint == linkageFingerprint(inputs, decided):
			return LinkageRun{Fingerprint: last.Fingerprint, Subjects: len(inputs), TriggeredBy: triggeredBy, Skipped: true}, nil
		case err != nil && !errors.Is(err, domain.ErrNotFound):
			return LinkageRun{}, err
		}
	}

	records := make([]linkage.Record, len(inputs))
	index := make(map[string]int32, len(inputs))
	for i, in := range inputs {
		idf, err := s.openSealed(in.Subject.Ref, in.Sealed)
		if err != nil {
			return LinkageRun{}, err
		}
		records[i] = engineRecord(in.Subject.OrganisationID, idf)
		index[in.Subject.Ref] = int32(i)
	}
	var resolutions []linkage.Resolution
	for _, r := range decided {
		a, okA := index[r.SubjectA]
		b, okB := index[r.SubjectB]
		if okA && okB {
			resolutions = append(resolutions, linkage.Resolution{A: a, B: b, Link: r.Decision == domain.ReviewLink})
		}
	}
	res, err := linkage.Link(records, resolutions, s.linkage)
	clear(records) // the plaintext goes no further
	if err != nil {
		return LinkageRun{}, err
	}

	run := LinkageRun{ID: ids.New("lrn"), StartedAt: started, Subjects: len(inputs), TriggeredBy: triggeredBy}
	persons := s.assignPersons(inputs, res.Clusters)
	for i := range inputs {
		sub := &inputs[i].Subject
		want := persons[i]
		if want == sub.PersonID {
			continue
		}
		if want == "" {
			if err := s.unlink(tx, *sub, reasonNone); err != nil {
				return LinkageRun{}, err
			}
			sub.PersonID = ""
			run.Unlinked++
			continue
		}
		sub.PersonID = want
		if err := tx.SaveSubject(*sub, false); err != nil {
			return LinkageRun{}, err
		}
		if err := tx.Announce(s.subjectLinked(*sub)); err != nil {
			return LinkageRun{}, err
		}
		run.Linked++
	}

	var decisions []LinkageDecision
	seen := map[[2]string]bool{}
	for _, d := range res.Decisions {
		if d.Band == linkage.BandNoLink {
			continue
		}
		a, b := domain.OrderPair(inputs[d.A].Subject.Ref, inputs[d.B].Subject.Ref)
		if seen[[2]string{a, b}] {
			continue
		}
		seen[[2]string{a, b}] = true
		expl := res.Model.Explain(d)
		raw, err := json.Marshal(expl)
		if err != nil {
			return LinkageRun{}, err
		}
		decisions = append(decisions, LinkageDecision{RunID: run.ID, SubjectA: a, SubjectB: b, Rule: expl.Rule, Band: expl.Band,
			Weight: expl.Weight, Explanation: raw, DecidedAt: started})
		switch d.Band {
		case linkage.BandLink:
			run.Links++
		case linkage.BandReview:
			run.Reviews++
			if _, _, err := s.recordReview(tx, ReviewCandidate{SubjectA: a, SubjectB: b, Score: expl.Probability, Explanations: ExplanationLines(expl)}); err != nil {
				return LinkageRun{}, err
			}
		}
	}
	run.FinishedAt = s.timestamp()
	// The fingerprint is of the state this run leaves, so the next run
	// over the same input finds nothing to do.
	run.Fingerprint = linkageFingerprint(inputs, decided)
	return run, tx.SaveLinkageRun(run, decisions)
}

// engineRecord is a subject's identifiers as the engine takes them. Only a
// verified NHS number is given: the engine links on NHS number and date of
// birth alone, and identity links on an unverified number only after review
// (as DeterministicMatcher does).
func engineRecord(org string, idf domain.Identifiers) linkage.Record {
	r := linkage.Record{Organisation: org, LocalID: idf.LocalID, UPN: idf.UPN, GivenName: idf.GivenName, FamilyName: idf.FamilyName,
		BirthDate: idf.DateOfBirth, Sex: idf.Sex, Postcode: idf.Postcode, Eligible: true}
	if idf.NHSNumberVerified {
		r.NHSNumber = idf.NHSNumber
	}
	return r
}

// assignPersons gives each cluster of two or more subjects a person id:
// the one most of its members already share (so unchanged clusters announce
// nothing), each old id going to one cluster at most, and a new id for a
// cluster with none left. Subjects alone in their cluster get "".
func (s *Service) assignPersons(inputs []LinkageInput, clusters []int32) []string {
	size := map[int32]int{}
	held := map[int32]map[string]int{}
	for i, root := range clusters {
		size[root]++
		if p := inputs[i].Subject.PersonID; p != "" {
			if held[root] == nil {
				held[root] = map[string]int{}
			}
			held[root][p]++
		}
	}
	type claim struct {
		root   int32
		person string
		n      int
	}
	var claims []claim
	for root, ps := range held {
		if size[root] < 2 {
			continue
		}
		for p, n := range ps {
			claims = append(claims, claim{root, p, n})
		}
	}
	slices.SortFunc(claims, func(x, y claim) int {
		if c := cmp.Compare(y.n, x.n); c != 0 {
			return c
		}
		if c := strings.Compare(x.person, y.person); c != 0 {
			return c
		}
		return cmp.Compare(x.root, y.root)
	})
	assigned, used := map[int32]string{}, map[string]bool{}
	for _, c := range claims {
		if assigned[c.root] == "" && !used[c.person] {
			assigned[c.root], used[c.person] = c.person, true
		}
	}
	out := make([]string, len(inputs))
	for i, root := range clusters {
		if size[root] < 2 {
			continue
		}
		if assigned[root] == "" {
			assigned[root] = domain.NewPersonID()
		}
		out[i] = assigned[root]
	}
	return out
}

// decidedReviews pages through every decided review.
func (s *Service) decidedReviews(tx Tx) ([]domain.Review, error) {
	var out []domain.Review
	for after := ""; ; {
		page, err := tx.Reviews("decided", after, 500)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 500 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// linkageFingerprint hashes what a run depends on: each eligible subject's
// reference, person and ciphertext (a re-registration seals afresh, so the
// ciphertext changes whenever the identifiers may have), and the operators'
// decisions. It is a hash of ciphertext, so it reveals nothing.
func linkageFingerprint(inputs []LinkageInput, decided []domain.Review) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", linkageEngineVersion)
	for _, in := range inputs {
		c := sha256.Sum256(in.Sealed.Ciphertext)
		fmt.Fprintf(h, "s %s %s %x\n", in.Subject.Ref, in.Subject.PersonID, c)
	}
	for _, r := range decided {
		fmt.Fprintf(h, "r %s %s %s\n", r.SubjectA, r.SubjectB, r.Decision)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ExplanationLines puts an engine explanation in the review queue's words:
// each field's outcome and weight, the probability and the engine's notes.
// It holds no identifier: outcomes are levels such as "exact" or
// "nickname or same first forename".
func ExplanationLines(e linkage.Explanation) []string {
	out := []string{fmt.Sprintf("%s rule, %s band: match probability %.4f (weight %+.1f bits)", e.Rule, e.Band, e.Probability, e.Weight)}
	for _, f := range e.Fields {
		out = append(out, fmt.Sprintf("%s: %s (%+.1f bits)", strings.ReplaceAll(f.Field, "_", " "), f.Outcome, f.Weight))
	}
	return append(out, e.Notes...)
}

// openSealed decrypts one vault entry in memory.
func (s *Service) openSealed(ref string, sealed vault.Sealed) (domain.Identifiers, error) {
	plain, err := s.keys.Vault.Open(ref, sealed)
	if err != nil {
		return domain.Identifiers{}, fmt.Errorf("vault entry of a subject: %w", err)
	}
	var idf domain.Identifiers
	if err := json.Unmarshal(plain, &idf); err != nil {
		return domain.Identifiers{}, fmt.Errorf("vault entry of a subject: %w", err)
	}
	clear(plain)
	return idf, nil
}
