// Package http renders the web front end's pages on the server: the
// platform status page and the respondent journey, in the GOV.UK page
// template. GOV.UK Frontend's built files are embedded (assets/govuk, copied
// by tools/browsertest/build-frontend.sh) so the service needs only Go.
package http

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/services/web/internal/app"
	"poet.local/services/web/internal/domain"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed all:assets/govuk
var govukAssets embed.FS

//go:embed static
var staticFiles embed.FS

// Register mounts the status page, the static files and, when resp is not
// nil, the respondent journey on r.
func Register(r *gin.Engine, a *app.Service, resp *app.Respondent, sealer *Sealer) {
	tmpl := template.Must(template.ParseFS(templates, "templates/*.html"))
	r.SetHTMLTemplate(tmpl)
	assets, _ := fs.Sub(govukAssets, "assets/govuk")
	static, _ := fs.Sub(staticFiles, "static")
	cached := func(c *gin.Context) { c.Header("Cache-Control", "public, max-age=3600") }
	r.Group("/assets", cached).StaticFS("/", http.FS(assets))
	r.Group("/static", cached).StaticFS("/", http.FS(static))
	if resp != nil {
		(&respondent{app: resp, sealer: sealer, pages: newPages(), now: time.Now}).register(r)
	}
	r.GET("/", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
		defer cancel()
		st := a.Status(ctx)
		code := http.StatusOK
		if !domain.AllReady(st) {
			code = http.StatusServiceUnavailable
		}
		c.Header("Cache-Control", "no-store")
		c.HTML(code, "index.html", gin.H{"Parts": st, "AllReady": domain.AllReady(st)})
	})
}

// HTTPProber asks each part's /readyz.
type HTTPProber struct{ Client *http.Client }

// Ready implements app.Prober.
func (p HTTPProber) Ready(ctx context.Context, part domain.Part) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, part.URL+"/readyz", nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return false, "not answering"
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("not ready (%d)", resp.StatusCode)
	}
	return true, "ready"
}
