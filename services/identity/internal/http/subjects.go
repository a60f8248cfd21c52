package http

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"poet.local/libs/authn"
	"poet.local/libs/platform/problem"
	"poet.local/libs/platform/request"
	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/http/api"
)

func (h *Handlers) CreateSubjectReference(c *gin.Context) {
	// A site's case system (a service client of that organisation) registers
	// people as a practitioner would, e.g. for survey's embedded API.
	who, ok := caller(c, authn.RolePractitioner, RoleService)
	if !ok {
		return
	}
	var body api.NewSubject
	if !request.DecodeJSON(c, &body, "a subject") {
		return
	}
	ref, err := h.app.RegisterSubject(c.Request.Context(), who, IdentifiersFromAPI(body))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, api.SubjectReference{SubjectRef: ref})
}

func (h *Handlers) ResolveSubject(c *gin.Context) {
	who, ok := caller(c, authn.RoleTransition)
	if !ok {
		return
	}
	var body api.SubjectLookup
	if !request.DecodeJSON(c, &body, "a subject lookup") {
		return
	}
	ref, err := h.app.ResolveSubject(c.Request.Context(), who, body.LocalId)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, api.SubjectReference{SubjectRef: ref})
}

func (h *Handlers) GetPersonKey(c *gin.Context, subjectRef string, params api.GetPersonKeyParams) {
	who, ok := caller(c, RoleService, authn.RoleOperator)
	if !ok {
		return
	}
	key, err := h.app.PersonKey(c.Request.Context(), who, subjectRef, string(params.Purpose))
	switch {
	case errors.Is(err, domain.ErrNoConsent):
		problem.Write(c, problem.New(http.StatusForbidden, "This person has not agreed to their journey being shared (no transition-sharing consent is in force)"))
	case errors.Is(err, domain.ErrNotLinked):
		problem.Write(c, problem.New(http.StatusNotFound, "This subject is not linked to a person"))
	case errors.Is(err, domain.ErrErased):
		problem.Write(c, problem.New(http.StatusNotFound, "This subject was erased"))
	case err != nil:
		writeError(c, err)
	default:
		c.JSON(http.StatusOK, api.PersonKey{SubjectRef: subjectRef, PersonKey: key})
	}
}

func (h *Handlers) ListLinkageReviews(c *gin.Context, params api.ListLinkageReviewsParams) {
	if _, ok := caller(c, authn.RoleOperator); !ok {
		return
	}
	size, after, status := 50, "", ""
	if params.PageSize != nil {
		if *params.PageSize < 1 || *params.PageSize > 200 {
			problem.Write(c, problem.New(http.StatusBadRequest, "page_size must be between 1 and 200"))
			return
		}
		size = *params.PageSize
	}
	if params.PageToken != nil {
		after = *params.PageToken
	}
	if params.Status != nil {
		if !params.Status.Valid() {
			problem.Write(c, problem.New(http.StatusBadRequest, "status must be pending or decided"))
			return
		}
		status = string(*params.Status)
	}
	list, next, err := h.app.Reviews(c.Request.Context(), status, after, size)
	if err != nil {
		writeError(c, err)
		return
	}
	out := api.LinkageReviewPage{Reviews: make([]api.LinkageReview, 0, len(list))}
	for _, r := range list {
		out.Reviews = append(out.Reviews, toAPIReview(r))
	}
	if next != "" {
		out.NextPageToken = &next
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) DecideLinkageReview(c *gin.Context, reviewID string) {
	who, ok := caller(c, authn.RoleOperator)
	if !ok {
		return
	}
	var body api.ReviewDecisionRequest
	if !request.DecodeJSON(c, &body, "a review decision") {
		return
	}
	r, err := h.app.DecideReview(c.Request.Context(), who, reviewID, domain.ReviewDecision(body.Decision))
	if errors.Is(err, domain.ErrAlreadyDecided) {
		problem.Write(c, problem.New(http.StatusConflict, "This review was already decided; a decision is final"))
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPIReview(r))
}

func (h *Handlers) RotateKek(c *gin.Context) {
	who, ok := caller(c, authn.RoleOperator)
	if !ok {
		return
	}
	res, err := h.app.RotateKEK(c.Request.Context(), who)
	if err != nil {
		writeError(c, err)
		return
	}
	out := api.KekRotation{KekVersion: res.KEKVersion, Rewrapped: res.Rewrapped, EntriesByVersion: map[string]int{}}
	for v, n := range res.Entries {
		out.EntriesByVersion[strconv.Itoa(v)] = int(n)
	}
	c.JSON(http.StatusOK, out)
}

// IdentifiersFromAPI is the registration body as the domain sees it.
func IdentifiersFromAPI(b api.NewSubject) domain.Identifiers {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	ids := domain.Identifiers{LocalID: b.LocalId, NHSNumber: str(b.NhsNumber), GivenName: str(b.GivenName), FamilyName: str(b.FamilyName),
		DateOfBirth: str(b.DateOfBirth), Sex: str(b.Sex), Postcode: str(b.Postcode), UPN: str(b.Upn)}
	if b.NhsNumberVerified != nil {
		ids.NHSNumberVerified = *b.NhsNumberVerified
	}
	return ids
}

func toAPIReview(r domain.Review) api.LinkageReview {
	out := api.LinkageReview{Id: r.ID, SubjectA: r.SubjectA, SubjectB: r.SubjectB, OrganisationA: r.OrganisationA, OrganisationB: r.OrganisationB,
		Score: r.Score, Explanations: r.Explanations, CreatedAt: r.CreatedAt.UTC(), Status: api.LinkageReviewStatusPending}
	switch r.Decision {
	case domain.ReviewLink:
		out.Status = api.LinkageReviewStatusLinked
	case domain.ReviewNoLink:
		out.Status = api.LinkageReviewStatusNotLinked
	}
	if r.DecidedAt != nil {
		t := r.DecidedAt.UTC()
		out.DecidedAt, out.DecidedBy = &t, &r.DecidedBy
	}
	return out
}

// notFoundDetail says what was not found, by route.
func notFoundDetail(c *gin.Context) string {
	switch p := c.FullPath(); {
	case strings.HasPrefix(p, "/v1/organisations"):
		return "No organisation is registered with this id"
	case strings.HasPrefix(p, "/v1/linkage/reviews"):
		return "No linkage review has this id"
	default:
		return "Your organisation has registered no such subject"
	}
}

func (h *Handlers) RunLinkage(c *gin.Context) {
	who, ok := caller(c, authn.RoleOperator)
	if !ok {
		return
	}
	run, err := h.app.RunLinkageBy(c.Request.Context(), who)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, api.LinkageRun{Id: run.ID, StartedAt: run.StartedAt.UTC(), FinishedAt: run.FinishedAt.UTC(), Subjects: run.Subjects,
		Links: run.Links, Reviews: run.Reviews, Linked: run.Linked, Unlinked: run.Unlinked, TriggeredBy: run.TriggeredBy})
}
