package http

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"poet.local/libs/authn"
	"poet.local/libs/platform/problem"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/domain/csvform"
	"poet.local/services/survey/internal/http/api"
)

// MaxCSVBytes bounds one CSV import request; main raises the server's body
// limit for ImportRoute to it (every other route keeps HTTP_MAX_BODY_BYTES).
const MaxCSVBytes = 50 << 20

// ImportRoute is the CSV import's route template, for its own body limit.
const ImportRoute = "/v1/campaigns/:campaign_id/imports"

func (h *Handlers) GetInstrumentCSVTemplate(c *gin.Context, instrumentID api.InstrumentId, version api.InstrumentVersion) {
	in, err := h.app.Instrument(instrumentID, version)
	if err != nil {
		writeError(c, err, noInstrument)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+in.ID+"-"+in.Version+`.csv"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", csvform.Template(in))
}

func (h *Handlers) CreateInvitations(c *gin.Context, campaignID api.CampaignId, params api.CreateInvitationsParams) {
	who, ok := caller(c, authn.RolePractitioner, authn.RoleAnalyst)
	if !ok {
		return
	}
	raw, err := io.ReadAll(c.Request.Body)
	req := app.NewInvitations{}
	if err == nil {
		req.List = len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '['
		var list []api.InvitationRequest
		if req.List {
			err = strictJSON(raw, &list)
		} else {
			var one api.InvitationRequest
			err = strictJSON(raw, &one)
			list = []api.InvitationRequest{one}
		}
		for _, b := range list {
			req.Batches = append(req.Batches, app.InvitationBatch{Count: b.Count, ExpiresAt: b.ExpiresAt})
		}
	}
	if err != nil {
		problem.Write(c, problem.New(http.StatusBadRequest, `The request body must be {"count": n, "expires_at": "…"} or a list of those`))
		return
	}
	if params.IdempotencyKey != nil {
		req.IdempotencyKey = *params.IdempotencyKey
	}
	issued, err := h.app.CreateInvitations(c.Request.Context(), who, campaignID, req)
	if err != nil {
		writeError(c, err, noCampaign)
		return
	}
	out := api.IssuedInvitations{Invitations: make([]api.IssuedInvitation, len(issued))}
	for i, inv := range issued {
		out.Invitations[i] = api.IssuedInvitation{Id: inv.ID, Token: inv.Token, CampaignId: inv.CampaignID, ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt}
	}
	c.Header("Cache-Control", "no-store") // the tokens are shown once
	c.JSON(http.StatusCreated, out)
}

func (h *Handlers) GetCampaignLink(c *gin.Context, token api.LinkToken) {
	cmp, status, err := h.app.OpenLink(c.Request.Context(), token)
	if err != nil {
		writeError(c, err, noLink)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, api.CampaignLink{CampaignName: cmp.Name, InstrumentId: cmp.InstrumentID,
		InstrumentVersion: cmp.InstrumentVersion, Status: api.CampaignLinkStatus(status)})
}

func (h *Handlers) GetInvitation(c *gin.Context, token api.InvitationToken) {
	v, err := h.app.Invitation(c.Request.Context(), token)
	if err != nil {
		writeError(c, err, noInvitation)
		return
	}
	out := api.InvitationStatus{Status: api.InvitationStatusStatus(v.Status), InstrumentId: v.Campaign.InstrumentID,
		InstrumentVersion: v.Campaign.InstrumentVersion, CampaignName: v.Campaign.Name, ExpiresAt: v.Invitation.ExpiresAt}
	if v.Draft != nil {
		out.Answers, out.SavedAt = &v.Draft.Answers, v.Draft.SavedAt
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) SubmitInvitationResponse(c *gin.Context, token api.InvitationToken, params api.SubmitInvitationResponseParams) {
	var body api.NewResponse
	if err := c.ShouldBindJSON(&body); err != nil {
		problem.Write(c, problem.New(http.StatusBadRequest, "The request body is not valid JSON for a response"))
		return
	}
	sub := app.Submission{Answers: body.Answers}
	if body.Mode != nil {
		sub.Mode = string(*body.Mode)
	}
	if params.IdempotencyKey != nil {
		sub.IdempotencyKey = *params.IdempotencyKey
	}
	r, err := h.app.SubmitInvitation(c.Request.Context(), token, sub)
	if err != nil {
		writeError(c, err, noInvitation)
		return
	}
	c.JSON(http.StatusCreated, receipt(r))
}

func (h *Handlers) SaveInvitationDraft(c *gin.Context, token api.InvitationToken) {
	var body api.DraftAnswers
	if err := c.ShouldBindJSON(&body); err != nil {
		problem.Write(c, problem.New(http.StatusBadRequest, "The request body is not valid JSON for saved answers"))
		return
	}
	d, err := h.app.SaveInvitationDraft(c.Request.Context(), token, body.Answers)
	if err != nil {
		writeError(c, err, noInvitation)
		return
	}
	writeDraft(c, d)
}

func (h *Handlers) GetInvitationDraft(c *gin.Context, token api.InvitationToken) {
	d, err := h.app.InvitationDraft(c.Request.Context(), token)
	if err != nil {
		writeError(c, err, noDraft)
		return
	}
	writeDraft(c, d)
}

func (h *Handlers) StartLinkDraft(c *gin.Context, linkToken api.LinkToken) {
	token, d, err := h.app.StartDraft(c.Request.Context(), linkToken)
	if err != nil {
		writeError(c, err, noLink)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, api.DraftStarted{DraftToken: token, ExpiresAt: *d.ExpiresAt})
}

func (h *Handlers) SaveLinkDraft(c *gin.Context, linkToken api.LinkToken, draftToken api.DraftToken) {
	var body api.DraftAnswers
	if err := c.ShouldBindJSON(&body); err != nil {
		problem.Write(c, problem.New(http.StatusBadRequest, "The request body is not valid JSON for saved answers"))
		return
	}
	d, err := h.app.SaveLinkDraft(c.Request.Context(), linkToken, draftToken, body.Answers)
	if err != nil {
		writeError(c, err, noDraft)
		return
	}
	writeDraft(c, d)
}

func (h *Handlers) GetLinkDraft(c *gin.Context, linkToken api.LinkToken, draftToken api.DraftToken) {
	d, err := h.app.LinkDraft(c.Request.Context(), linkToken, draftToken)
	if err != nil {
		writeError(c, err, noDraft)
		return
	}
	writeDraft(c, d)
}

func writeDraft(c *gin.Context, d domain.Draft) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, api.Draft{Answers: d.Answers, SavedAt: d.SavedAt, ExpiresAt: d.ExpiresAt})
}

func (h *Handlers) EnterResponse(c *gin.Context, campaignID api.CampaignId, params api.EnterResponseParams) {
	who, ok := caller(c, authn.RolePractitioner)
	if !ok {
		return
	}
	var body api.EnteredResponse
	if err := c.ShouldBindJSON(&body); err != nil {
		problem.Write(c, problem.New(http.StatusBadRequest, "The request body is not valid JSON for an entered response"))
		return
	}
	sub := app.Submission{Mode: string(body.Mode), Answers: body.Answers}
	if params.IdempotencyKey != nil {
		sub.IdempotencyKey = *params.IdempotencyKey
	}
	r, err := h.app.EnterResponse(c.Request.Context(), who, campaignID, sub)
	if err != nil {
		writeError(c, err, noCampaign)
		return
	}
	c.JSON(http.StatusCreated, receipt(r))
}

func (h *Handlers) SubmitEmbeddedResponse(c *gin.Context, campaignID api.CampaignId, params api.SubmitEmbeddedResponseParams) {
	who, ok := caller(c, authn.RolePractitioner, roleService)
	if !ok {
		return
	}
	var body api.EmbeddedResponse
	if err := c.ShouldBindJSON(&body); err != nil {
		problem.Write(c, problem.New(http.StatusBadRequest, "The request body is not valid JSON for an embedded response"))
		return
	}
	e := app.Embedded{LocalPersonID: body.LocalPersonId, Answers: body.Answers}
	if params.IdempotencyKey != nil {
		e.IdempotencyKey = *params.IdempotencyKey
	}
	r, err := h.app.SubmitEmbedded(c.Request.Context(), who, campaignID, e)
	if err != nil {
		writeError(c, err, noCampaign)
		return
	}
	c.JSON(http.StatusCreated, receipt(r))
}

func (h *Handlers) ImportCSV(c *gin.Context, campaignID api.CampaignId) {
	who, ok := caller(c, authn.RolePractitioner)
	if !ok {
		return
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || (mt != "text/csv" && mt != "application/csv") {
		problem.Write(c, problem.New(http.StatusUnsupportedMediaType, "Send the file as text/csv"))
		return
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, MaxCSVBytes)
	res, err := h.app.ImportCSV(c.Request.Context(), who, campaignID, body)
	if err != nil {
		writeError(c, err, noCampaign)
		return
	}
	out := api.ImportResult{Accepted: res.Accepted, Duplicates: res.Duplicates, RejectedCount: res.RejectedCount,
		Rejected: make([]api.RejectedRow, len(res.Rejected))}
	for i, r := range res.Rejected {
		row := api.RejectedRow{Line: r.Line}
		if r.RowID != "" {
			id := r.RowID
			row.RowId = &id
		}
		row.Errors = make([]struct {
			Column string `json:"column"`
			Reason string `json:"reason"`
		}, len(r.Errors))
		for j, e := range r.Errors {
			row.Errors[j].Column, row.Errors[j].Reason = e.Column, e.Reason
		}
		out.Rejected[i] = row
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) GetCampaignReturns(c *gin.Context, campaignID api.CampaignId) {
	who, ok := caller(c, authn.RoleAnalyst, authn.RolePractitioner)
	if !ok {
		return
	}
	r, err := h.app.Returns(c.Request.Context(), who, campaignID)
	if err != nil {
		writeError(c, err, noCampaign)
		return
	}
	out := api.CampaignReturns{CampaignId: r.CampaignID, Total: r.Total, ByMode: r.ByMode, ByDay: make([]api.DayReturns, len(r.ByDay))}
	for i, d := range r.ByDay {
		out.ByDay[i] = api.DayReturns{Day: d.Day, Total: d.Total, ByMode: d.ByMode}
	}
	c.JSON(http.StatusOK, out)
}

func receipt(r domain.Response) api.ResponseReceipt {
	return api.ResponseReceipt{Id: r.ID, CampaignId: r.CampaignID, SubmittedAt: r.SubmittedAt}
}

// strictJSON decodes one JSON value, refusing unknown fields and trailing data.
func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return io.ErrUnexpectedEOF
	}
	return nil
}
