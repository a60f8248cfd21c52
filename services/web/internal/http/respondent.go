package http

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/services/web/internal/app"
	"poet.local/services/web/internal/domain"
)

// linkToken is the shape of survey's open-link tokens (base64url).
var linkToken = regexp.MustCompile(`^[A-Za-z0-9_-]{20,100}$`)

// respondent serves the respondent journey: start, agreement, one page per
// section, check your answers, confirmation. Every page works without
// JavaScript; GOV.UK Frontend's scripts only enhance them.
type respondent struct {
	app    *app.Respondent
	sealer *Sealer
	pages  *pages
	now    func() time.Time
}

func (h *respondent) register(r gin.IRouter) {
	g := r.Group("/s/:token", h.guard)
	g.GET("", h.start)
	g.GET("/agree", h.agreeForm)
	g.POST("/agree", h.agree)
	g.GET("/not-taking-part", h.declined)
	g.GET("/section/:n", h.sectionForm)
	g.POST("/section/:n", h.section)
	g.GET("/check", h.checkForm)
	g.POST("/check", h.submit)
	g.GET("/done", h.done)
}

// guard checks the token's shape, sets the headers every journey page
// needs, and refuses cross-site posts (the CSRF token is checked per form).
func (h *respondent) guard(c *gin.Context) {
	if !linkToken.MatchString(c.Param("token")) {
		h.problemPage(c, http.StatusNotFound, "notfound", nil)
		c.Abort()
		return
	}
	c.Header("Cache-Control", "no-store")
	// The link token is in the address: never send it to another site.
	c.Header("Referrer-Policy", "same-origin")
	if c.Request.Method == http.MethodPost {
		if o := c.GetHeader("Origin"); o != "" && o != "null" {
			if u, err := url.Parse(o); err != nil || u.Host != c.Request.Host {
				h.problemPage(c, http.StatusForbidden, "expired", nil)
				c.Abort()
				return
			}
		}
	}
	c.Next()
}

func base(c *gin.Context) string { return "/s/" + c.Param("token") }

// load returns the journey and its instrument, or renders the "start again"
// page. Posts must carry the journey's CSRF token.
func (h *respondent) load(c *gin.Context, needAgreed bool) (*Journey, domain.Instrument, bool) {
	j := h.sealer.Load(c.Request)
	if j == nil || j.ResponseID != "" && c.FullPath() != "/s/:token/done" {
		h.problemPage(c, http.StatusBadRequest, "expired", nil)
		return nil, domain.Instrument{}, false
	}
	if c.Request.Method == http.MethodPost && !h.sealer.CheckCSRF(j, c.PostForm(csrfField)) {
		h.problemPage(c, http.StatusForbidden, "expired", nil)
		return nil, domain.Instrument{}, false
	}
	if needAgreed && !j.Agreed {
		c.Redirect(http.StatusSeeOther, base(c)+"/agree")
		return nil, domain.Instrument{}, false
	}
	id, version, _ := strings.Cut(j.Instrument, "@")
	in, err := h.app.Instrument(c.Request.Context(), id, version)
	if err != nil {
		h.failed(c, err)
		return nil, domain.Instrument{}, false
	}
	if e := c.Query("easy"); e == "1" || e == "0" {
		j.Easy = e == "1"
		h.save(c, j)
	}
	return j, in, true
}

func (h *respondent) save(c *gin.Context, j *Journey) bool {
	if err := h.sealer.Save(c.Writer, c.Request, base(c), j); err != nil {
		h.problemPage(c, http.StatusRequestEntityTooLarge, "toolong", nil)
		return false
	}
	return true
}

// failed renders the page for an error from survey.
func (h *respondent) failed(c *gin.Context, err error) {
	switch {
	case errors.Is(err, app.ErrNotFound):
		h.problemPage(c, http.StatusNotFound, "notfound", nil)
	case errors.Is(err, app.ErrClosed):
		h.problemPage(c, http.StatusGone, "closed", nil)
	default:
		slog.ErrorContext(c.Request.Context(), "survey call failed", "error", err)
		h.problemPage(c, http.StatusServiceUnavailable, "unavailable", nil)
	}
}

func (h *respondent) start(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	_, in, err := h.app.Open(ctx, c.Param("token"), c.Query("instrument"))
	if err != nil {
		h.failed(c, err)
		return
	}
	j := h.sealer.Load(c.Request)
	if j == nil || j.ResponseID != "" || j.Instrument != in.ID+"@"+in.Version {
		j = h.sealer.NewJourney(in.ID + "@" + in.Version)
	}
	if e := c.Query("easy"); e == "1" || e == "0" {
		j.Easy = e == "1"
	}
	if !h.save(c, j) {
		return
	}
	h.render(c, http.StatusOK, "start", j, in, map[string]any{"Sections": len(in.Sections)})
}

func (h *respondent) agreeForm(c *gin.Context) {
	j, in, ok := h.load(c, false)
	if !ok {
		return
	}
	v := ""
	if j.Agreed {
		v = "yes"
	}
	h.render(c, http.StatusOK, "agree", j, in, map[string]any{"Value": v})
}

func (h *respondent) agree(c *gin.Context) {
	j, in, ok := h.load(c, false)
	if !ok {
		return
	}
	switch c.PostForm("agree") {
	case "yes":
		j.Agreed = true
		if h.save(c, j) {
			c.Redirect(http.StatusSeeOther, base(c)+"/section/1")
		}
	case "no":
		// "No" keeps nothing: the journey, and any answers, are deleted here
		// and nothing has been or will be sent to survey.
		h.sealer.Clear(c.Writer, c.Request, base(c))
		c.Redirect(http.StatusSeeOther, base(c)+"/not-taking-part")
	default:
		errs := []errorView{{Href: "#agree", Text: "Select yes if you agree to take part"}}
		h.render(c, http.StatusUnprocessableEntity, "agree", j, in, map[string]any{"Errors": errs, "Error": errs[0].Text})
	}
}

func (h *respondent) declined(c *gin.Context) {
	h.sealer.Clear(c.Writer, c.Request, base(c))
	h.problemPage(c, http.StatusOK, "declined", nil)
}

// sectionIndex reads /section/:n (1-based) and keeps respondents to the
// sections they have reached.
func (h *respondent) sectionIndex(c *gin.Context, j *Journey, in domain.Instrument) (int, bool) {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 || n > len(in.Sections) {
		h.problemPage(c, http.StatusNotFound, "notfound", nil)
		return 0, false
	}
	if n > j.Reached+1 {
		c.Redirect(http.StatusSeeOther, base(c)+"/section/"+strconv.Itoa(j.Reached+1))
		return 0, false
	}
	return n - 1, true
}

func (h *respondent) sectionForm(c *gin.Context) {
	j, in, ok := h.load(c, true)
	if !ok {
		return
	}
	si, ok := h.sectionIndex(c, j, in)
	if !ok {
		return
	}
	h.renderSection(c, http.StatusOK, j, in, si, nil, nil, false)
}

func (h *respondent) section(c *gin.Context) {
	j, in, ok := h.load(c, true)
	if !ok {
		return
	}
	si, ok := h.sectionIndex(c, j, in)
	if !ok {
		return
	}
	shown := map[string]bool{}
	for _, id := range strings.Split(c.PostForm("shown"), " ") {
		shown[id] = true
	}
	answers, raw, errs := in.ReadSection(si, c.Request.PostForm, j.Answers, h.now())
	j.Answers = answers
	// Without JavaScript a follow-up whose condition sits on this page may
	// only now apply: show the page again with it, rather than skip it.
	asked := in.Asked(answers)
	added := false
	for _, q := range in.Sections[si].Questions {
		if asked[q.ID] && !shown[q.ID] {
			added = true
		}
	}
	if added {
		var kept []domain.FieldError
		for _, e := range errs {
			if shown[e.Question] {
				kept = append(kept, e)
			}
		}
		errs = kept
	}
	if !h.save(c, j) {
		return
	}
	if len(errs) > 0 || added {
		code := http.StatusOK
		if len(errs) > 0 {
			code = http.StatusUnprocessableEntity
		}
		h.renderSection(c, code, j, in, si, errs, raw, added)
		return
	}
	if si+1 > j.Reached {
		j.Reached = si + 1
	}
	next := base(c) + "/section/" + strconv.Itoa(si+2)
	if j.Checking || si+1 == len(in.Sections) {
		j.Reached = max(j.Reached, len(in.Sections))
		next = base(c) + "/check"
	}
	if h.save(c, j) {
		c.Redirect(http.StatusSeeOther, next)
	}
}

func (h *respondent) checkForm(c *gin.Context) {
	j, in, ok := h.load(c, true)
	if !ok {
		return
	}
	if j.Reached < len(in.Sections) {
		c.Redirect(http.StatusSeeOther, base(c)+"/section/"+strconv.Itoa(j.Reached+1))
		return
	}
	j.Checking = true
	j.Answers = in.Prune(j.Answers)
	if si, errs := in.Missing(j.Answers); si >= 0 {
		if h.save(c, j) {
			h.renderSection(c, http.StatusUnprocessableEntity, j, in, si, errs, nil, false)
		}
		return
	}
	if h.save(c, j) {
		h.renderCheck(c, http.StatusOK, j, in, nil)
	}
}

func (h *respondent) submit(c *gin.Context) {
	j, in, ok := h.load(c, true)
	if !ok {
		return
	}
	if j.Reached < len(in.Sections) {
		c.Redirect(http.StatusSeeOther, base(c)+"/section/"+strconv.Itoa(j.Reached+1))
		return
	}
	if si, errs := in.Missing(j.Answers); si >= 0 {
		h.renderSection(c, http.StatusUnprocessableEntity, j, in, si, errs, nil, false)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
	defer cancel()
	// One key per journey: a double click or a retry stores one response.
	rc, err := h.app.Submit(ctx, c.Param("token"), "web-"+j.ID, in, j.Answers)
	var ve *app.ValidationError
	switch {
	case errors.As(err, &ve):
		// Show survey's problems on the page that asked the first one.
		first := -1
		var general []errorView
		for _, f := range ve.Fields {
			if _, si, ok := in.Question(f.Question); ok && (first < 0 || si < first) {
				first = si
			}
		}
		if first >= 0 {
			var errs []domain.FieldError
			for _, f := range ve.Fields {
				if _, si, ok := in.Question(f.Question); ok && si == first {
					errs = append(errs, f)
				}
			}
			h.renderSection(c, http.StatusUnprocessableEntity, j, in, first, errs, nil, false)
			return
		}
		for _, f := range ve.Fields {
			general = append(general, errorView{Href: "#main-content", Text: f.Message})
		}
		if len(general) == 0 {
			general = []errorView{{Href: "#main-content", Text: "Your answers could not be sent. Check them and try again."}}
		}
		h.renderCheck(c, http.StatusUnprocessableEntity, j, in, general)
		return
	case err != nil:
		h.failed(c, err)
		return
	}
	*j = Journey{ID: j.ID, Instrument: j.Instrument, Easy: j.Easy, ResponseID: rc.ResponseID, Started: j.Started}
	if h.save(c, j) {
		c.Redirect(http.StatusSeeOther, base(c)+"/done")
	}
}

func (h *respondent) done(c *gin.Context) {
	j := h.sealer.Load(c.Request)
	if j == nil || j.ResponseID == "" {
		h.problemPage(c, http.StatusBadRequest, "expired", nil)
		return
	}
	id, version, _ := strings.Cut(j.Instrument, "@")
	in, err := h.app.Instrument(c.Request.Context(), id, version)
	if err != nil {
		h.failed(c, err)
		return
	}
	h.render(c, http.StatusOK, "done", j, in, nil)
}
