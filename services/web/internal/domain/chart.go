package domain

import (
	"fmt"
	"html"
	"strings"
)

// ShareBar is one outcome domain in the share-better chart. Share, Low and
// High are proportions from 0 to 1; Share nil means the figure is withheld
// (disclosure control) or nobody rated the domain.
type ShareBar struct {
	Label     string
	Share     *float64
	Low, High *float64
	// Note replaces the bar when Share is nil; default "[c] not shown".
	Note string
}

// Chart geometry, in SVG user units. Exported through the drawing only; the
// tests read positions back from the SVG.
const (
	chartLabelW = 220.0 // left column for domain names
	chartPlotW  = 400.0 // 0% to 100%
	chartRightW = 30.0
	chartBarH   = 22.0
	chartGap    = 14.0
	chartTop    = 10.0
	chartAxisH  = 30.0
)

// ShareChart draws a horizontal bar chart of each domain's share better with
// its 95% interval as whiskers, as a self-contained SVG: the page needs no
// JavaScript, and the same numbers are in the table beside it, so the image
// is summarised by its title and description and hidden detail is not lost
// to screen reader users. A withheld domain is drawn as text saying so,
// never as a zero-length bar that could be read as 0%.
func ShareChart(title string, bars []ShareBar) string {
	height := chartTop + float64(len(bars))*(chartBarH+chartGap) + chartAxisH
	width := chartLabelW + chartPlotW + chartRightW
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="poet-chart" viewBox="0 0 %s %s" width="100%%" role="img" aria-labelledby="chart-title chart-desc">`, num(width), num(height))
	fmt.Fprintf(&b, `<title id="chart-title">%s</title>`, html.EscapeString(title))
	b.WriteString(`<desc id="chart-desc">Horizontal bars from 0% to 100% showing the share of people who said things got better, with lines showing the 95% confidence interval. The same figures are in the table.</desc>`)
	axisY := chartTop + float64(len(bars))*(chartBarH+chartGap)
	for _, pct := range []int{0, 25, 50, 75, 100} {
		x := chartLabelW + chartPlotW*float64(pct)/100
		fmt.Fprintf(&b, `<line class="poet-chart__grid" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#b1b4b6" stroke-width="1"/>`, num(x), num(chartTop-4), num(x), num(axisY))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" font-size="13" fill="#505a5f">%d%%</text>`, num(x), num(axisY+18), pct)
	}
	for i, bar := range bars {
		y := chartTop + float64(i)*(chartBarH+chartGap)
		mid := y + chartBarH/2
		fmt.Fprintf(&b, `<g class="poet-chart__row" data-domain="%s">`, html.EscapeString(bar.Label))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle" font-size="15" fill="#0b0c0c">%s</text>`, num(chartLabelW-10), num(mid), html.EscapeString(bar.Label))
		if bar.Share == nil {
			note := bar.Note
			if note == "" {
				note = "[c] not shown"
			}
			fmt.Fprintf(&b, `<text class="poet-chart__withheld" x="%s" y="%s" dominant-baseline="middle" font-size="15" fill="#505a5f">%s</text></g>`, num(chartLabelW+6), num(mid), html.EscapeString(note))
			continue
		}
		s := clamp01(*bar.Share)
		fmt.Fprintf(&b, `<rect class="poet-chart__bar" x="%s" y="%s" width="%s" height="%s" fill="#1d70b8"/>`, num(chartLabelW), num(y), num(chartPlotW*s), num(chartBarH))
		if bar.Low != nil && bar.High != nil {
			lo, hi := chartLabelW+chartPlotW*clamp01(*bar.Low), chartLabelW+chartPlotW*clamp01(*bar.High)
			fmt.Fprintf(&b, `<g class="poet-chart__interval" stroke="#0b0c0c" stroke-width="2"><line x1="%s" y1="%s" x2="%s" y2="%s"/><line x1="%s" y1="%s" x2="%s" y2="%s"/><line x1="%s" y1="%s" x2="%s" y2="%s"/></g>`,
				num(lo), num(mid), num(hi), num(mid),
				num(lo), num(mid-6), num(lo), num(mid+6),
				num(hi), num(mid-6), num(hi), num(mid+6))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func clamp01(v float64) float64 { return min(1, max(0, v)) }

// num prints a coordinate with at most two decimals and no trailing zeros.
func num(v float64) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// Percent formats a proportion as a whole-number percentage ("63%").
func Percent(v float64) string { return fmt.Sprintf("%.0f%%", clamp01(v)*100) }

// DomainLabel turns a domain id ("quality-of-life") into words ("Quality of life").
func DomainLabel(id string) string {
	s := strings.ReplaceAll(id, "-", " ")
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
